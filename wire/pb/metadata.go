package pb

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// AppendMetadata appends one Event{metadata: md} message, without a length
// prefix, and returns the extended buffer. A Metadata with an invalid Type
// appends nothing: the reference client panics on an unknown metric type.
// Strings are checked and repaired as AppendMetric does; metadata is rare
// enough that there is no opt-out.
func AppendMetadata(dst []byte, md *Metadata) []byte {
	if !md.Type.Valid() {
		return dst
	}
	body, valid := metadataSize(md)
	dst = slices.Grow(dst, sizeField(body))
	dst = appendField(dst, tagEventMetadata, body)
	return appendMetadataBody(dst, md, valid)
}

// AppendMetadataFrame appends uvarint(len) ‖ Event{metadata: md}: one frame
// of the TCP event stream. Like AppendMetadata, it appends nothing for an
// invalid Type.
func AppendMetadataFrame(dst []byte, md *Metadata) []byte {
	if !md.Type.Valid() {
		return dst
	}
	body, valid := metadataSize(md)
	event := sizeField(body)
	dst = slices.Grow(dst, protowire.SizeBytes(event))
	dst = protowire.AppendVarint(dst, uint64(event))
	dst = appendField(dst, tagEventMetadata, body)
	return appendMetadataBody(dst, md, valid)
}

func metadataSize(md *Metadata) (n int, allValid bool) {
	allValid = true
	if md.Name != "" {
		l, ok := textLen(md.Name, false)
		n += sizeField(l)
		allValid = ok
	}
	if md.Type != Counter { // proto3 leaves the zero enum value out
		n += 1 + protowire.SizeVarint(uint64(md.Type))
	}
	if md.HasUnit {
		l, ok := textLen(md.Unit, false)
		n += sizeField(l)
		allValid = allValid && ok
	}
	if md.HasDescription {
		l, ok := textLen(md.Description, false)
		n += sizeField(l)
		allValid = allValid && ok
	}
	return n, allValid
}

func appendMetadataBody(dst []byte, md *Metadata, allValid bool) []byte {
	if md.Name != "" {
		dst = appendTextField(dst, tagMetadataName, md.Name, allValid)
	}
	if md.Type != Counter {
		dst = protowire.AppendVarint(append(dst, tagMetadataType), uint64(md.Type))
	}
	if md.HasUnit {
		dst = appendTextField(dst, tagMetadataUnit, md.Unit, allValid)
	}
	if md.HasDescription {
		dst = appendTextField(dst, tagMetadataDescription, md.Description, allValid)
	}
	return dst
}
