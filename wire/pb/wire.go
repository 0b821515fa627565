package pb

import "google.golang.org/protobuf/encoding/protowire"

// Field tags of event.proto, precomputed: every field number is below 16, so
// each tag is one byte and the encoder appends it directly.
const (
	tagEventMetadata = 1<<3 | byte(protowire.BytesType)
	tagEventMetric   = 2<<3 | byte(protowire.BytesType)

	tagMetadataName        = 1<<3 | byte(protowire.BytesType)
	tagMetadataType        = 2<<3 | byte(protowire.VarintType)
	tagMetadataUnit        = 3<<3 | byte(protowire.BytesType)
	tagMetadataDescription = 4<<3 | byte(protowire.BytesType)

	tagMetricName      = 1<<3 | byte(protowire.BytesType)
	tagMetricTimestamp = 2<<3 | byte(protowire.BytesType)
	tagMetricLabel     = 3<<3 | byte(protowire.BytesType)

	// A map<string,string> entry is a nested message {1: key, 2: value}.
	tagEntryKey   = 1<<3 | byte(protowire.BytesType)
	tagEntryValue = 2<<3 | byte(protowire.BytesType)

	tagTimestampSeconds = 1<<3 | byte(protowire.VarintType)
	tagTimestampNanos   = 2<<3 | byte(protowire.VarintType)
)

// opTag is the tag of each operation's oneof field: field number Op+3,
// varint for the counter ops and fixed64 for the double ops.
func opTag(o Op) byte {
	if o.isUint() {
		return byte(o+3)<<3 | byte(protowire.VarintType)
	}
	return byte(o+3)<<3 | byte(protowire.Fixed64Type)
}

// sizeField is the encoded size of a length-delimited field with a one-byte
// tag and n bytes of payload.
func sizeField(n int) int { return 1 + protowire.SizeBytes(n) }

// appendField appends a one-byte tag and the length n of the payload that
// the caller appends next.
func appendField(dst []byte, tag byte, n int) []byte {
	return protowire.AppendVarint(append(dst, tag), uint64(n))
}
