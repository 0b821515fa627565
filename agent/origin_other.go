//go:build !linux

package agent

// Outside Linux there are no cgroups: container detection finds what /proc/self/cgroup and
// /proc/self/mountinfo say where they exist (they do not, mostly), and never a cgroup inode.

func hostCgroupNamespace() bool { return true }

func cgroupInode(mount, cgroupFile string) string { return "" }
