package eventpb

// event.pb.go is committed so that building statshard needs no protoc. To
// regenerate it after editing ../event.proto, run `go generate ./proto/...`
// from the repository root with these tools on PATH (the versions that
// produced the committed file; keep protoc-gen-go equal to the
// google.golang.org/protobuf version in go.mod):
//
//	apt-get install -y protobuf-compiler  # protoc 3.21.12 (libprotoc 3.21.12)
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//
//go:generate protoc --proto_path=.. --go_out=. --go_opt=paths=source_relative event.proto
