package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// hostCgroupNamespaceInode is the inode of the initial cgroup namespace, fixed by the kernel
// (PROC_CGROUP_INIT_INO in include/linux/proc_ns.h). It cannot tell the host from a container
// that shares the host's namespace, which is the point: such a container sees full cgroup paths.
const hostCgroupNamespaceInode = 0xEFFFFFFB

// hostCgroupNamespace reports whether the process runs in the initial cgroup namespace.
func hostCgroupNamespace() bool {
	ino, ok := inode("/proc/self/ns/cgroup")
	return ok && ino == hostCgroupNamespaceInode
}

// cgroupInode returns "in-<inode>" of the process's cgroup node under mount: the cgroup v1
// memory controller's node, else the cgroup v2 unified node; "" when neither can be read.
func cgroupInode(mount, cgroupFile string) string {
	f, err := os.Open(cgroupFile)
	if err != nil {
		return ""
	}
	memory, unified := parseCgroupNodes(f)
	f.Close()
	for _, p := range [...]string{
		nodePath(mount, "memory", memory),
		nodePath(mount, "", unified),
	} {
		if p == "" {
			continue
		}
		if ino, ok := inode(p); ok {
			return "in-" + strconv.FormatUint(ino, 10)
		}
	}
	return ""
}

// nodePath joins a cgroup node path to its mount, or returns "" when there is no node.
func nodePath(mount, controller, node string) string {
	if node == "" {
		return ""
	}
	return filepath.Join(mount, controller, node)
}

func inode(path string) (uint64, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return uint64(st.Ino), true
}
