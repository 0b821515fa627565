module github.com/statshard/statshard/bridge/gometrics

go 1.26.0

replace github.com/statshard/statshard => ../..

require (
	github.com/hashicorp/go-metrics v0.7.0
	github.com/statshard/statshard v0.0.0-00010101000000-000000000000
)

require (
	github.com/DataDog/datadog-go v4.8.3+incompatible // indirect
	github.com/Microsoft/go-winio v0.6.2 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/hashicorp/go-immutable-radix v1.3.1 // indirect
	github.com/hashicorp/golang-lru v0.5.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
