package agent

import (
	"os"
	"path/filepath"
	"testing"
)

const fixtureID = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860"

func fixture(name string) string { return filepath.Join("testdata", "origin", name) }

func TestParseCgroupID(t *testing.T) {
	tests := []struct{ file, want string }{
		{"cgroup-v1-docker.txt", fixtureID},
		{"cgroup-v1-kubernetes.txt", fixtureID},
		{"cgroup-v2-systemd-scope.txt", fixtureID},
		{"cgroup-v1-ecs.txt", "34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376"},
		{"cgroup-v1-fargate.txt", "432624d2150b349fe35ba397284dea788c2bf66b885d14dfc1569b01890ca7da"},
		{"cgroup-v1-fargate-task.txt", "8474f33ae7cd4e74a0c5efa25ac4bc8b-1938466512"},
		{"cgroup-uuid-scope.txt", "2c8f2f6f-0c1d-4d6f-8b1a-6b9f4c1a2e3d"},
		// A cgroup v2 private namespace shows "/"; a host shows no container-shaped path (32 hex
		// digits alone are not an ID: ECS's have a task number after them).
		{"cgroup-v2-private-ns.txt", ""},
		{"cgroup-v1-host-vm.txt", ""},
		{"cgroup-empty.txt", ""},
	}
	for _, tt := range tests {
		if got := readWith(fixture(tt.file), parseCgroupID); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestParseMountinfoID(t *testing.T) {
	tests := []struct{ file, want string }{
		{"mountinfo-docker-v2.txt", fixtureID},
		{"mountinfo-containerd-sandbox.txt", fixtureID}, // the sandbox's (pause container's) line is skipped
		{"mountinfo-garden.txt", "6f265890-5165-7fab-6b52-18d1"},
		{"mountinfo-none.txt", ""},
	}
	for _, tt := range tests {
		if got := readWith(fixture(tt.file), parseMountinfoID); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.file, got, tt.want)
		}
	}
}

// TestDetectOrder: the cgroup file first, then mountinfo, then (outside the host's namespace)
// the inode; a missing file is no error.
func TestDetectOrder(t *testing.T) {
	host := func() bool { return true }
	tests := []struct {
		name string
		src  containerSource
		want string
	}{
		{"cgroup wins", containerSource{cgroup: fixture("cgroup-v1-ecs.txt"), mountinfo: fixture("mountinfo-docker-v2.txt"), hostNamespace: host},
			"34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376"},
		{"mountinfo next", containerSource{cgroup: fixture("cgroup-v2-private-ns.txt"), mountinfo: fixture("mountinfo-docker-v2.txt"), hostNamespace: host}, fixtureID},
		{"host namespace: no inode", containerSource{cgroup: fixture("cgroup-v1-host-vm.txt"), mountinfo: fixture("mountinfo-none.txt"), cgroupMount: t.TempDir(), hostNamespace: host}, ""},
		{"missing files", containerSource{cgroup: "/nonexistent/cgroup", mountinfo: "/nonexistent/mountinfo", hostNamespace: host}, ""},
	}
	for _, tt := range tests {
		if got := tt.src.detect(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseCgroupNodes(t *testing.T) {
	f, err := os.Open(fixture("cgroup-v1-host-vm.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if mem, uni := parseCgroupNodes(f); mem != "/process_api/6aca0024d301e87004269079fc6e5e3b" || uni != "/" {
		t.Errorf("got memory %q, unified %q", mem, uni)
	}
}
