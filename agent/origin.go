package agent

import (
	"bufio"
	"io"
	"os"
	"regexp"
	"strings"
)

// OriginDetection chooses whether the recorder tells the Datadog Agent which container its
// metrics come from (see StatsdConfig.OriginDetection). Its zero value is OriginDetectionAuto.
type OriginDetection uint8

// The origin detection choices.
const (
	// OriginDetectionAuto follows the environment: on when the process is configured the Datadog
	// way, that is when any Datadog variable the recorder reads is set (DD_AGENT_HOST,
	// DD_DOGSTATSD_URL, DD_ENV, DD_ENTITY_ID, ...), unless DD_ORIGIN_DETECTION_ENABLED is false;
	// DD_ORIGIN_DETECTION_ENABLED=true turns it on by itself. Off otherwise, and with Config.NoEnv.
	OriginDetectionAuto OriginDetection = iota
	// OriginDetectionOn always sends the container ID found, whatever the environment says.
	OriginDetectionOn
	// OriginDetectionOff never looks for one.
	OriginDetectionOff
)

// containerSource is where container detection looks: the files datadog-go v5.9 reads. Tests
// point it at fixtures.
type containerSource struct {
	cgroup      string // /proc/self/cgroup
	mountinfo   string // /proc/self/mountinfo
	cgroupMount string // /sys/fs/cgroup
	// hostNamespace reports whether the process runs in the host's cgroup namespace, where
	// /proc/self/cgroup shows full paths and a cgroup inode would name the host's node, not the
	// container's.
	hostNamespace func() bool
}

var procContainer = containerSource{
	cgroup:        "/proc/self/cgroup",
	mountinfo:     "/proc/self/mountinfo",
	cgroupMount:   "/sys/fs/cgroup",
	hostNamespace: hostCgroupNamespace,
}

// detect returns the process's container ID as the Datadog Agent wants it, trying in turn, as
// datadog-go does:
//
//  1. a container ID in a /proc/self/cgroup path (cgroup v1 or v2): 64 hex digits (Docker,
//     containerd, CRI-O), 32 hex digits and a task number (ECS), or a UUID (Garden, systemd);
//  2. a container ID in the path of a /proc/self/mountinfo mount of the container's hostname
//     file (cgroup v2 with a private cgroup namespace hides the paths of step 1), except sandboxes;
//  3. outside the host's cgroup namespace, the inode of the process's cgroup node, as
//     "in-<inode>", which the Agent maps to the container (the memory controller's node on cgroup
//     v1, the unified node on v2).
//
// It returns "" when all three fail, as outside any container, and on systems without cgroups.
func (s containerSource) detect() string {
	if id := readWith(s.cgroup, parseCgroupID); id != "" {
		return id
	}
	if id := readWith(s.mountinfo, parseMountinfoID); id != "" {
		return id
	}
	if s.hostNamespace == nil || s.hostNamespace() {
		return ""
	}
	return cgroupInode(s.cgroupMount, s.cgroup)
}

func readWith(path string, parse func(io.Reader) string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return parse(f)
}

var (
	// cgroupLine is "hierarchy-ID:controllers:path".
	cgroupLine = regexp.MustCompile(`^\d+:[^:]*:(.+)$`)
	// cgroupID is a container ID ending a cgroup path, optionally as a systemd scope
	// ("docker-<id>.scope").
	cgroupID = regexp.MustCompile(`([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{64}|[0-9a-f]{32}-\d+)(?:\.scope)?$`)
	// mountinfoID is a container ID in the source path of the container's hostname file, e.g.
	// "/var/lib/docker/containers/<id>/hostname", after the directory that holds it.
	mountinfoID = regexp.MustCompile(`/([^\s/]+)/([0-9a-f]{64}|[0-9a-f]{32}-\d+|[0-9a-f]{8}(?:-[0-9a-f]{4}){4})/\S*hostname`)
)

// parseCgroupID returns the first container ID in a /proc/self/cgroup file.
func parseCgroupID(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := cgroupLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if id := cgroupID.FindStringSubmatch(m[1]); id != nil {
			return id[1]
		}
	}
	return ""
}

// parseMountinfoID returns the container ID of the first /proc/self/mountinfo line that has one,
// taking the rightmost match on the line, and skipping containerd's sandboxes (the pause
// container's, not ours).
func parseMountinfoID(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		all := mountinfoID.FindAllStringSubmatch(sc.Text(), -1)
		if len(all) == 0 {
			continue
		}
		if m := all[len(all)-1]; m[1] != "sandboxes" {
			return m[2]
		}
	}
	return ""
}

// parseCgroupNodes returns the process's cgroup v1 memory controller path and cgroup v2 unified
// path from a /proc/self/cgroup file ("" for those it lacks).
func parseCgroupNodes(r io.Reader) (memory, unified string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch parts[1] {
		case "memory":
			memory = parts[2]
		case "":
			unified = parts[2]
		}
	}
	return memory, unified
}
