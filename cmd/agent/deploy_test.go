//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statshard/statshard/internal/peertest"
)

// TestSystemdNotify: with $NOTIFY_SOCKET, the built agent tells systemd READY=1 once it serves,
// RELOADING=1 (with MONOTONIC_USEC= on the monotonic clock) then READY=1 around each SIGHUP,
// applied or rejected, and STOPPING=1 at SIGTERM; on a socket file and on an abstract socket.
func TestSystemdNotify(t *testing.T) {
	for _, name := range []string{filepath.Join(shortTemp(t), "notify.sock"), fmt.Sprintf("@statshard-notify-test-%d", os.Getpid())} {
		t.Run(strings.TrimPrefix(filepath.Base(name), "@"), func(t *testing.T) {
			sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer sock.Close()
			next := func(want string) string {
				t.Helper()
				buf := make([]byte, 4096)
				sock.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, err := sock.Read(buf)
				if err != nil {
					t.Fatalf("waiting for %s: %v", want, err)
				}
				msg := string(buf[:n])
				if !strings.HasPrefix(msg, want+"\n") || !strings.Contains(msg, "\nSTATUS=") {
					t.Fatalf("got message %q, want %s first, then a STATUS= line", msg, want)
				}
				return msg
			}
			t.Setenv("NOTIFY_SOCKET", name)
			up := peertest.Start(t, peertest.Options{})
			a := startAgentFile(t, "udp://"+up.UDPAddr, map[string]any{})
			next("READY=1")
			httpGet(t, "http://"+a.http+"/healthz") // ready means serving

			before, _ := monotonicUsec()
			a.cmd.Process.Signal(syscall.SIGHUP)
			msg := next("RELOADING=1")
			after, _ := monotonicUsec()
			m := regexp.MustCompile(`\nMONOTONIC_USEC=(\d+)\n`).FindStringSubmatch(msg)
			if m == nil {
				t.Fatalf("RELOADING=1 without MONOTONIC_USEC=: %q", msg)
			}
			if us, _ := strconv.ParseUint(m[1], 10, 64); us < before || us > after {
				t.Errorf("MONOTONIC_USEC=%d, want it between %d and %d (CLOCK_MONOTONIC around the SIGHUP)", us, before, after)
			}
			if msg := next("READY=1"); !strings.Contains(msg, "STATUS=reloaded") {
				t.Errorf("after a reload: %q", msg)
			}

			a.writeConfig(t, map[string]any{"interval": "fast"})
			a.cmd.Process.Signal(syscall.SIGHUP)
			next("RELOADING=1")
			if msg := next("READY=1"); !strings.Contains(msg, "STATUS=reload rejected") || !strings.Contains(msg, "interval") {
				t.Errorf("after a rejected reload: %q", msg)
			}

			a.cmd.Process.Signal(syscall.SIGTERM)
			next("STOPPING=1")
			if err := a.waitExit(t, 10*time.Second); err != nil {
				t.Errorf("exit: %v", err)
			}
		})
	}
}

// TestSystemdUnit: deploy/statshard.service passes systemd-analyze verify (its ExecStart pointed
// at the built binary, which verify requires to exist), is Type=notify, hardened, and runs the
// agent on a YAML file the agent reads. Without systemd-analyze the test skips, unless
// STATSHARD_REQUIRE_PEERS is set (CI installs Debian's systemd package).
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../../deploy/statshard.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	keys := map[string][]string{}
	for _, l := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for k, want := range map[string]string{"Type": "notify", "DynamicUser": "yes", "ProtectSystem": "strict",
		"RuntimeDirectory": "statshard", "NoNewPrivileges": "yes", "ExecReload": "/bin/kill -HUP $MAINPID"} {
		if got := strings.Join(keys[k], " "); got != want {
			t.Errorf("%s=%s, want %s", k, got, want)
		}
	}
	exec0 := strings.Fields(strings.Join(keys["ExecStart"], ""))
	if len(exec0) != 3 || exec0[0] != "/usr/local/bin/statshard" || exec0[1] != "-config" || !strings.HasSuffix(exec0[2], ".yaml") {
		t.Errorf("ExecStart=%q, want /usr/local/bin/statshard -config <file>.yaml", exec0)
	}
	// The settings the unit's comment shows, in the file ExecStart names: they must read.
	m := regexp.MustCompile(`(?m)^#   (\S.*)$`).FindAllStringSubmatch(unit, -1)
	var yml strings.Builder
	for _, l := range m {
		yml.WriteString(l[1] + "\n")
	}
	cfg := filepath.Join(t.TempDir(), "statshard.yaml")
	os.WriteFile(cfg, []byte(yml.String()), 0o600)
	var s settings
	if ps, err := readConfigFile(cfg, &s, newOrigins()); err != nil || len(ps) > 0 || len(s.Listen) == 0 {
		t.Errorf("the unit's example settings %q: %v %v", yml.String(), err, ps)
	} else if !strings.Contains(strings.Join(s.Listen, ","), "unixgram:///run/"+strings.Join(keys["RuntimeDirectory"], "")+"/") {
		t.Errorf("the example socket %v is not in RuntimeDirectory=%v", s.Listen, keys["RuntimeDirectory"])
	}

	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("STATSHARD_REQUIRE_PEERS") != "" {
			t.Fatal("systemd-analyze not found, and STATSHARD_REQUIRE_PEERS is set (apt-get install systemd)")
		}
		t.Skip("systemd-analyze not found (apt-get install systemd)")
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, "statshard.service")
	os.WriteFile(tmp, []byte(strings.ReplaceAll(unit, "/usr/local/bin/statshard", agentBin)), 0o644)
	out, err := exec.Command(tool, "verify", tmp).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure systemd itself scores (0 safest, 10 worst); --offline needs systemd 252.
	out, err = exec.Command(tool, "security", "--offline=yes", "--no-pager", tmp).CombinedOutput()
	if err != nil {
		t.Logf("systemd-analyze security --offline: %v (too old?)", err)
		return
	}
	score := regexp.MustCompile(`Overall exposure level for statshard.service: ([\d.]+)`).FindSubmatch(out)
	if score == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if v, _ := strconv.ParseFloat(string(score[1]), 64); v > 2 {
		t.Errorf("exposure level %v, want at most 2 (hardening lost?):\n%s", v, out)
	}
	t.Logf("systemd-analyze security: exposure %s", score[1])
}
