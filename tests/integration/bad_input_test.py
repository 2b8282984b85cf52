"""Bad input: a table of malformed flags, configs and kubeconfigs given to every executable.
Each must end with exit 2 (an invalid invocation, which a Job's podFailurePolicy can stop
retrying) and a message on stderr naming the problem and where it is (FILE:LINE: for a config,
the file and the field for a kubeconfig, the flag for a flag), never with a signal. Nothing is
contacted: every case fails before the vault or the cluster is used.

Prints "badinput: N cases, N exit 2"."""
import os
import shutil
import tempfile
import unittest

from cairn_test_support import report_summary, run

EXECUTABLES = ["vault-check", "backup-run", "restore-run", "gc", "convert-run"]
# What each executable needs besides the case's own arguments (so the case is what is wrong).
REQUIRED = {"backup-run": ["--name", "b1"], "restore-run": ["--backup", "b1"],
            "convert-run": ["--backup", "b1", "--storage-class-mapping", "a=b"]}

# Common flags: (arguments, expected substrings of stderr). "{dir}" is the scratch directory.
FLAG_CASES = [
    (["--edpoint", "http://x"], ["unknown flag '--edpoint'", "did you mean '--endpoint'"]),
    (["--timeout"], ["--timeout"]),
    (["--timeout", "5x"], ["--timeout", "invalid duration '5x'", "unknown unit 'x'"]),
    (["--timeout", "99999999999h"], ["--timeout", "too large"]),
    (["--output", "yaml"], ["--output", "'yaml'"]),
    (["--log-format", "xml"], ["--log-format", "'xml'"]),
    (["--url", "ftp://bucket/x"], ["--url", "ftp://bucket/x"]),
    (["--url", "s3://"], ["--url", "s3://"]),
    (["--url", "file://{dir}/v", "--endpoint", "http://minio:99999"],
     ["--endpoint", "port 99999"]),
    (["--url", "file://{dir}/v", "--kube-qps", "lots"], ["--kube-qps", "'lots'"]),
    (["--url", "file://{dir}/v", "--kube-qps", "0"], ["--kube-qps"]),
    (["--url", "file://{dir}/v", "--path-style=maybe"], ["--path-style", "'maybe'"]),
    (["--vault", "nope", "--config", "{dir}/ok.toml"],
     ["--vault nope: no vault 'nope' in {dir}/ok.toml (defined: main)"]),
    (["--config", "{dir}/missing.toml"], ["{dir}/missing.toml"]),
    (["--config", "{dir}"], ["{dir}"]),
    (["--url", "file://{dir}/v", "stray"], ["stray"]),
]

# Flags of one executable.
OWN_FLAG_CASES = {
    "backup-run": [
        (["--label-selector", "app in (web"], ["--label-selector", "app in (web"]),
        (["--or-label-selectors", "a=b or"], ["--or-label-selectors"]),
        (["--include-cluster-resources", "maybe"], ["--include-cluster-resources", "'maybe'"]),
        (["--compression-level", "99"], ["--compression-level", "99"]),
        (["--ttl", "forever"], ["--ttl", "'forever'"]),
        (["--policy", "nope"], ["--policy nope"]),
        (["--name", "Not_A/Name"], ["--name: invalid backup name 'Not_A/Name'"]),
    ],
    "restore-run": [
        (["--namespace-mapping", "a"], ["--namespace-mapping", "'a'"]),
        (["--backup", "../x"], ["--backup: invalid backup name '../x'"]),
        (["--name", "x" * 64], ["--name: invalid restore name"]),
    ],
    "gc": [
        (["--keep-last", "x"], ["--keep-last", "'x'"]),
        (["--stale-after", "1y"], ["--stale-after", "'1y'"]),
        (["--delete", "../x"], ["--delete: invalid backup name '../x'"]),
    ],
    "vault-check": [
        (["--init=sometimes"], ["--init", "'sometimes'"]),
    ],
}

# Config files: (text, expected substrings; "{cfg}" is the file).
CONFIG_CASES = [
    ('[vaults.main]\nurl = "file:///x"\nregion = 5\n', ["{cfg}:3:", "vaults.main.region"]),
    ('[vaults.main]\nurl = "file:///x"\nregoin = "eu"\n',
     ["{cfg}:3:", "unknown key 'vaults.main.regoin'", "did you mean 'region'"]),
    ('[vaults.main]\nurl = "file:///x"\n[vaults.main\n', ["{cfg}:3:"]),
    ('[vaults.main]\nurl = "gopher://x"\n', ["{cfg}:2:", "vaults.main.url"]),
    ('[vaults.main]\nurl = "file:///x"\npart_size = "5 parsecs"\n',
     ["{cfg}:3:", "vaults.main.part_size"]),
    ('[vaults.main]\nurl = "file:///x"\n\n[defaults]\ntimeout = "-5m"\n',
     ["{cfg}:5:", "defaults.timeout"]),
    ('[vaults.main]\nurl = "file:///x"\n\n[policies.p]\nlabel_selector = "a in (b"\n',
     ["{cfg}:5:", "policies.p.label_selector"]),
    ('[vaults.main]\nurl = "file:///x"\n\n[policies.p]\nschedule = "61 * * * *"\n',
     ["{cfg}:5:", "policies.p.schedule"]),
    ('[vaults.main]\nurl = "file:///x"\n\n[kubernetes]\nqps = "fast"\n',
     ["{cfg}:5:", "kubernetes.qps"]),
    ('[defaults]\nvault = "nowhere"\n', ["{cfg}:2:", "defaults.vault", "nowhere"]),
    ('[vaults.main]\nurl = "file:///x"\nurl = "file:///y"\n', ["{cfg}:3:"]),
    ('x = "\udcff\udcfe"\n', ["{cfg}:1:"]),  # bytes that are not UTF-8
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", ["{cfg}:1:"]),
    ("a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n", ["{cfg}:1:"]),
    ("\x00\x01\x02 binary", ["{cfg}:1:"]),
]

# Kubeconfigs: (text, expected substrings; "{kc}" is the file). The vault is a file vault.
KUBECONFIG_CASES = [
    ("just: [a, b\n", ["{kc}", "line"]),
    ("- a\n- b\n", ["{kc}", "not a YAML mapping"]),
    ("apiVersion: v1\nkind: Config\n", ["{kc}", "no current-context"]),
    ("current-context: c\ncontexts: []\n", ["context \"c\" not found", "{kc}"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n",
     ["cluster \"k\"", "{kc}"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
     "clusters:\n- name: k\n  cluster: {server: 'ftp://k'}\n", ["ftp://k", "not an http(s) URL"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://k', certificate-authority-data: '!!'}\n",
     ["{kc}", "certificate-authority-data"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://k'}\n"
     "users:\n- name: u\n  user: {client-key: /nonexistent/key, client-certificate: /x}\n",
     ["{kc}", "users[0].user.client-"]),
    # A misspelt "context:" (yaml-cpp threw through cairn: SIGABRT; found by fuzzing).
    ("current-context: c\ncontexts:\n- name: c\n  contxt: {cluster: k}\n", ["{kc}", "context \"c\""]),
    ("current-context: c\ncontexts:\n- name: c\n  context: c\n",
     ["{kc}", "contexts[0].context: must be a mapping"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: nobody}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://k'}\n", ["user \"nobody\"", "{kc}"]),
    ("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
     "clusters:\n- name: k\n  cluster: {server: 'https://k'}\n"
     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v9, "
     "command: x}\n", ["{kc}", "client.authentication.k8s.io/v9"]),
    ("a: " + "[" * 20000 + "]" * 20000 + "\n", ["{kc}"]),
    ("a: &x [*x]\n" + "b: " + "{c: " * 3000 + "1" + "}" * 3000 + "\n", ["{kc}"]),
    ("\x00\x01\x02", ["{kc}"]),
]


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-badinput-")
        with open(os.path.join(cls.dir, "ok.toml"), "w") as f:
            f.write(f'[vaults.main]\nurl = "file://{cls.dir}/v"\n')
        cls.cases = cls.usage = 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)
        report_summary(f"badinput: {cls.cases} cases, {cls.usage} exit 2 with the expected message")

    def expect_usage(self, exe, args, expected):
        args = [a.replace("{dir}", self.dir) for a in args]
        required = REQUIRED.get(exe, [])
        if required and required[0] in args:  # the case is about that flag
            required = []
        r = run(exe, *args, *required, timeout=60)
        type(self).cases += 1
        with self.subTest(exe=exe, args=" ".join(args)[:120]):
            self.assertGreaterEqual(r.code, 0, f"killed by signal {-r.code}: {r}")
            self.assertEqual(r.code, 2, r)
            for e in expected:
                self.assertIn(e.replace("{dir}", self.dir), r.err, r)
            type(self).usage += 1

    def test_flags(self):
        for exe in EXECUTABLES:
            for args, expected in FLAG_CASES:
                self.expect_usage(exe, args, expected)
            for args, expected in OWN_FLAG_CASES.get(exe, []):
                self.expect_usage(exe, ["--url", "file://{dir}/v", *args], expected)

    def test_configs(self):
        for i, (text, expected) in enumerate(CONFIG_CASES):
            cfg = os.path.join(self.dir, f"case{i}.toml")
            with open(cfg, "wb") as f:
                f.write(text.encode("utf-8", "surrogateescape"))
            for exe in EXECUTABLES:
                self.expect_usage(exe, ["--config", cfg], [e.replace("{cfg}", cfg)
                                                           for e in expected])

    def test_kubeconfigs(self):
        for i, (text, expected) in enumerate(KUBECONFIG_CASES):
            kc = os.path.join(self.dir, f"kubeconfig{i}")
            with open(kc, "w") as f:
                f.write(text)
            for exe in EXECUTABLES:
                self.expect_usage(exe, ["--url", f"file://{self.dir}/v", "--kubeconfig", kc],
                                  [e.replace("{kc}", kc) for e in expected])


if __name__ == "__main__":
    unittest.main()
