package main

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// at walks a node by mapping keys; nil when a key is missing.
func at(n *node, keys ...string) *node {
	for _, k := range keys {
		if n == nil || n.kind != mapNode {
			return nil
		}
		var next *node
		for i, key := range n.keys {
			if key.text == k {
				next = n.vals[i]
			}
		}
		n = next
	}
	return n
}

// named returns the item of the list n whose "name" is name.
func named(n *node, name string) *node {
	if n == nil {
		return nil
	}
	for _, it := range n.items {
		if v := at(it, "name"); v != nil && v.text == name {
			return it
		}
	}
	return nil
}

func text(n *node) string {
	if n == nil {
		return ""
	}
	return n.text
}

// manifests reads deploy/kubernetes.yaml, one node per document.
func manifests(t *testing.T) map[string]*node {
	t.Helper()
	b, err := os.ReadFile("../../deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]*node{}
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(b), -1) {
		n, err := parseYAML([]byte(doc))
		if err != nil {
			t.Fatalf("deploy/kubernetes.yaml: %v", err)
		}
		docs[text(at(n, "kind"))] = n
	}
	return docs
}

// TestKubernetesManifest: the DaemonSet runs the agent on its ConfigMap's settings, which the
// agent reads without a problem; its ports, probe and socket directory are the ones those
// settings give, the probe path is one the agent serves, and it runs as the image's user.
func TestKubernetesManifest(t *testing.T) {
	docs := manifests(t)
	cm, ds := docs["ConfigMap"], docs["DaemonSet"]
	if cm == nil || ds == nil {
		t.Fatalf("want a ConfigMap and a DaemonSet, got %v", docs)
	}
	pod := at(ds, "spec", "template", "spec")
	c := named(at(pod, "containers"), "statshard")
	if c == nil {
		t.Fatal("no container named statshard")
	}

	// -config names the ConfigMap's key, where the ConfigMap volume is mounted.
	args := at(c, "args")
	if args == nil || len(args.items) != 2 || args.items[0].text != "-config" {
		t.Fatalf("container args %s, want -config FILE", args.json())
	}
	file := args.items[1].text
	mount := named(at(c, "volumeMounts"), "config")
	if text(at(named(at(pod, "volumes"), "config"), "configMap", "name")) != text(at(cm, "metadata", "name")) {
		t.Errorf("the config volume is not the ConfigMap %q", text(at(cm, "metadata", "name")))
	}
	if path.Dir(file) != text(at(mount, "mountPath")) {
		t.Errorf("-config %s is not in the ConfigMap's mount %s", file, text(at(mount, "mountPath")))
	}
	data := at(cm, "data", path.Base(file))
	if data == nil {
		t.Fatalf("the ConfigMap has no key %q", path.Base(file))
	}

	// The settings: every key the agent's, every value valid.
	cfg := filepath.Join(t.TempDir(), path.Base(file))
	os.WriteFile(cfg, []byte(data.text), 0o600)
	s, _, _, err := load([]string{"-config", cfg}, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("the ConfigMap's settings do not load:\n%v", err)
	}

	// Ports: the intake's UDP port is the hostPort the pods send to.
	var udpPort, sockDir string
	for _, l := range s.Listen {
		if rest, ok := strings.CutPrefix(l, "udp://"); ok {
			_, udpPort, _ = net.SplitHostPort(rest)
		}
		if p, ok := strings.CutPrefix(l, "unixgram://"); ok {
			sockDir = path.Dir(p)
		}
	}
	dsd := named(at(c, "ports"), "dogstatsd")
	if text(at(dsd, "protocol")) != "UDP" || text(at(dsd, "containerPort")) != udpPort || text(at(dsd, "hostPort")) != "8125" || udpPort != "8125" {
		t.Errorf("port dogstatsd %s, want UDP containerPort = hostPort = 8125 = the listen port %s", dsd.json(), udpPort)
	}
	host, httpPort, _ := net.SplitHostPort(s.HTTP)
	if host != "" {
		t.Errorf("-http %s: the kubelet probes the pod's IP, so listen on every interface (\":%s\")", s.HTTP, httpPort)
	}
	hp := named(at(c, "ports"), "http")
	if text(at(hp, "containerPort")) != httpPort {
		t.Errorf("port http %s, want the -http port %s", hp.json(), httpPort)
	}
	// Probes: on the -http port, on a path the agent serves.
	web, err := serveHTTP("127.0.0.1:0", false, &agentState{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer web.close(t.Context())
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		g := at(c, probe, "httpGet")
		if p := text(at(g, "port")); p != "http" && p != httpPort {
			t.Errorf("%s port %q, want http (%s)", probe, p, httpPort)
		}
		resp, err := http.Get("http://" + web.addr() + text(at(g, "path")))
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s path %q: the agent answers %v %v", probe, text(at(g, "path")), resp.Status, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	// The socket's directory is the hostPath, mounted where the settings put the socket.
	sock := named(at(c, "volumeMounts"), "socket-dir")
	if text(at(sock, "mountPath")) != sockDir || text(at(named(at(pod, "volumes"), "socket-dir"), "hostPath", "path")) == "" {
		t.Errorf("socket-dir mounted at %q, want a hostPath at %q, the listen socket's directory", text(at(sock, "mountPath")), sockDir)
	}
	// Resources, and the image's non-root user.
	for _, k := range [][]string{{"requests", "cpu"}, {"requests", "memory"}, {"limits", "memory"}} {
		if at(at(c, "resources"), k...) == nil {
			t.Errorf("no resources.%s", strings.Join(k, "."))
		}
	}
	user, _ := dockerUser(t)
	if got := text(at(pod, "securityContext", "runAsUser")); got != user || text(at(pod, "securityContext", "runAsNonRoot")) != "true" {
		t.Errorf("runAsUser %q (runAsNonRoot %q), want the Dockerfile's USER %q, non-root", got, text(at(pod, "securityContext", "runAsNonRoot")), user)
	}
	if text(at(c, "securityContext", "readOnlyRootFilesystem")) != "true" {
		t.Errorf("the agent's root filesystem is writable")
	}
}

// dockerfile returns the Dockerfile's instructions, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func dockerUser(t *testing.T) (uid, gid string) {
	t.Helper()
	for _, l := range dockerfile(t) {
		if rest, ok := strings.CutPrefix(l, "USER "); ok {
			uid, gid, _ = strings.Cut(strings.TrimSpace(rest), ":")
		}
	}
	return uid, gid
}

// shellWords splits a shell command line into words, with single and double quotes.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '"' || c == '\'':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// TestDockerfileBuild: the Dockerfile's build step, run here as it is written (its environment,
// flags and -ldflags, VERSION as a --build-arg would set it), makes a static binary that calls
// itself statshard with that version; the image runs it as non-root with arguments the agent
// takes. No container engine runs here, so the image itself is not built.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent from scratch with -trimpath")
	}
	if runtime.GOARCH == "386" {
		// CI's GOARCH=386 run: the image is not built for 386, and the build (a minute here,
		// -trimpath recompiling the standard library) is done by the amd64 runs already.
		t.Skip("the image is built for the host's architecture")
	}
	var build []string
	var out, entry, copied string
	var cmdArgs []string
	for _, l := range dockerfile(t) {
		switch {
		case strings.HasPrefix(l, "RUN ") && strings.Contains(l, " go build "):
			build = shellWords(strings.TrimPrefix(l, "RUN "))
		case strings.HasPrefix(l, "ENTRYPOINT "):
			entry = strings.Trim(strings.TrimPrefix(l, "ENTRYPOINT "), `[]"`)
		case strings.HasPrefix(l, "COPY --from=build "):
			f := strings.Fields(l)
			out, copied = f[2], f[3]
		case strings.HasPrefix(l, "CMD "):
			for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(l, -1) {
				cmdArgs = append(cmdArgs, m[1])
			}
		}
	}
	if build == nil {
		t.Fatal("no RUN ... go build line in the Dockerfile")
	}
	if entry != copied {
		t.Errorf("ENTRYPOINT %s is not the binary copied to %s", entry, copied)
	}
	const version = "v0.0.0-dockerfile-test"
	bin := filepath.Join(t.TempDir(), "statshard")
	env := os.Environ()
	var args []string
	for i, w := range build {
		switch {
		case len(args) == 0 && strings.Contains(w, "=") && w != "go":
			env = append(env, w) // VAR=value before the command
		case w == "-o" && i+1 < len(build) && build[i+1] == out:
			args = append(args, w)
		case i > 0 && build[i-1] == "-o" && w == out:
			args = append(args, bin)
		default:
			args = append(args, strings.ReplaceAll(w, "${VERSION}", version))
		}
	}
	if args[0] != "go" || args[1] != "build" || !strings.Contains(strings.Join(args, " "), "-o "+bin) {
		t.Fatalf("the build line reads as %q: want go build ... -o %s", args, out)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "../.." // WORKDIR /src holds the repository
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}

	// The flags took: static, trimmed, no cgo, the version linked in, named statshard.
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	// (Go does not record -ldflags with -trimpath: -version shows them below.)
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings %v, want CGO_ENABLED=0 and -trimpath", settings)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("the binary has an ELF interpreter: it is not static")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary links %v: it is not static", libs)
		}
	}
	got, err := exec.Command(bin, "-version").Output()
	if err != nil || !strings.HasPrefix(string(got), "statshard "+version+" ") {
		t.Errorf("-version: %q %v, want \"statshard %s ...\"", got, err, version)
	}

	// The runtime stage: a non-root user, and CMD arguments the agent reads without a problem.
	uid, _ := dockerUser(t)
	if n, err := strconv.Atoi(uid); uid == "" || err == nil && n == 0 || uid == "root" {
		t.Errorf("USER %q, want a non-root user", uid)
	}
	if len(cmdArgs) == 0 {
		t.Fatal("no CMD")
	}
	l := loadAll(cmdArgs, &bytes.Buffer{}, nil)
	if err := l.err(); err != nil {
		t.Errorf("CMD %q: %v", cmdArgs, err)
	}
	for _, a := range append([]string{l.s.HTTP, l.s.TCP}, strings.TrimPrefix(strings.Join(l.s.Listen, ""), "udp://")) {
		if host, _, _ := net.SplitHostPort(a); host != "" {
			t.Errorf("CMD listens on %s: inside a container loopback is unreachable from outside", a)
		}
	}
}
