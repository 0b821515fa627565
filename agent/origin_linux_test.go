package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestCgroupInode: in a private cgroup namespace with no ID in the files, the ID is the inode of
// the process's cgroup node: the v1 memory controller's, else the v2 unified one's.
func TestCgroupInode(t *testing.T) {
	private := func() bool { return false }
	mount := t.TempDir()
	mkdir := func(p string) string {
		t.Helper()
		p = filepath.Join(mount, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		ino, ok := inode(p)
		if !ok {
			t.Fatalf("no inode for %s", p)
		}
		return "in-" + strconv.FormatUint(ino, 10)
	}
	v2 := mkdir("kubepods/pod1")
	v1 := mkdir("memory/kubepods/pod2")
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noMounts := fixture("mountinfo-none.txt")
	tests := []struct {
		name, cgroup, want string
	}{
		{"cgroup v2", write("v2", "0::/kubepods/pod1\n"), v2},
		{"cgroup v1 memory first", write("v1", "5:memory:/kubepods/pod2\n0::/kubepods/pod1\n"), v1},
		{"v1 node missing: v2", write("v1gone", "5:memory:/gone\n0::/kubepods/pod1\n"), v2},
		{"no node", write("none", "0::/nonexistent\n"), ""},
	}
	for _, tt := range tests {
		src := containerSource{cgroup: tt.cgroup, mountinfo: noMounts, cgroupMount: mount, hostNamespace: private}
		if got := src.detect(); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDetectHere runs the real detection: whatever this machine is, the result is empty or a
// valid origin field.
func TestDetectHere(t *testing.T) {
	id := procContainer.detect()
	t.Logf("container ID here: %q", id)
	if id != "" && !validOrigin(id) {
		t.Errorf("detected %q, which cannot be written as |c:", id)
	}
}
