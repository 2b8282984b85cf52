"""vault-check over HTTPS against the S3 test server (hack/s3-server): its TLS endpoint has a
certificate for 127.0.0.1 signed by a throw-away CA (S3_CA_FILE), so it verifies only when that
CA is given by --ca-file, AWS_CA_BUNDLE or a vault's ca_file, and fails clearly otherwise."""
import os
import shutil
import subprocess
import tempfile
import unittest

from cairn_test_support import run, s3_env, unique

# Nothing outside the test decides which CAs are trusted.
CLEAN_ENV = {"AWS_CA_BUNDLE": None, "SSL_CERT_FILE": None, "SSL_CERT_DIR": None,
             "AWS_ENDPOINT_URL": None}


def https_env():
    keys = ["S3_HTTPS_ENDPOINT", "S3_CA_FILE"]
    if not all(os.environ.get(k) for k in keys):
        if os.environ.get("CAIRN_REQUIRE_S3") == "1":
            raise AssertionError("CAIRN_REQUIRE_S3=1 but S3_HTTPS_ENDPOINT/S3_CA_FILE are not set "
                                 "(hack/s3-server start writes them to DIR/env)")
        raise unittest.SkipTest("no HTTPS S3 test server: S3_HTTPS_ENDPOINT is not set "
                                "(run through scripts/test, or source DIR/env of hack/s3-server)")
    env = s3_env()
    env.update({k: os.environ[k] for k in keys})
    return env


class S3TlsVaultCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = https_env()
        cls.dir = tempfile.mkdtemp(prefix="cairn-tls-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.prefix = unique("tls")

    def args(self, *extra):
        return ["--url", f"s3://{self.env['S3_BUCKET']}/{self.prefix}",
                "--endpoint", self.env["S3_HTTPS_ENDPOINT"], "--path-style",
                "--timeout", "60s", *extra]

    def vault_check(self, *args, env=None):
        return run("vault-check", *args, env={**CLEAN_ENV, **(env or {})})

    def assert_tls_verification_failed(self, r):
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Unavailable", r)
        endpoint = [c for c in status["checks"] if c["name"] == "endpoint"][0]
        self.assertEqual(endpoint["result"], "failed", endpoint)
        self.assertIn("tls verification failed", endpoint["message"])
        self.assertIn("127.0.0.1", endpoint["message"])
        # Not worth retrying: it fails at once rather than after the retry deadline.
        self.assertLess(endpoint["durationMs"], 10000, endpoint)
        self.assertIn("tls verification failed", status["message"])
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)

    def other_ca(self):
        """A CA that did not sign the server's certificate."""
        path = os.path.join(self.dir, "other-ca.pem")
        if not os.path.exists(path):
            if not shutil.which("openssl"):
                self.skipTest("openssl is not installed")
            subprocess.run(["openssl", "req", "-x509", "-config", "/dev/null", "-newkey", "ec",
                            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc", "-days", "1",
                            "-subj", "/CN=cairn tls_test other CA",
                            "-addext", "basicConstraints=critical,CA:TRUE",
                            "-keyout", os.path.join(self.dir, "other-ca.key"), "-out", path],
                           check=True, capture_output=True)
        return path

    # (a)
    def test_ca_file_flag_verifies(self):
        r = self.vault_check(*self.args("--ca-file", self.env["S3_CA_FILE"], "--init"))
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        self.assertNotIn("Unavailable", r.out)
        self.assertIn(self.env["S3_HTTPS_ENDPOINT"], r.out)

    # (b)
    def test_without_ca_is_tls_verification_failure(self):
        r = self.vault_check(*self.args("--init"))
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertRegex(r.out, r"FAIL\s+endpoint\s.*tls verification failed")
        self.assertIn("VaultError: backup vault is unavailable: tls verification failed", r.all)
        self.assert_tls_verification_failed(
            self.vault_check(*self.args("--init", "--output", "json")))

    def test_ca_that_did_not_sign_the_certificate_fails(self):
        self.assert_tls_verification_failed(
            self.vault_check(*self.args("--ca-file", self.other_ca(), "--output", "json")))

    # (c)
    def test_aws_ca_bundle_env_verifies(self):
        r = self.vault_check(*self.args("--init"), env={"AWS_CA_BUNDLE": self.env["S3_CA_FILE"]})
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        self.assertNotIn("Unavailable", r.out)

    def test_ca_file_flag_wins_over_aws_ca_bundle(self):
        r = self.vault_check(*self.args("--ca-file", self.env["S3_CA_FILE"], "--init"),
                             env={"AWS_CA_BUNDLE": self.other_ca()})
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        self.assertNotIn("Unavailable", r.out)

    # (d)
    def test_config_ca_file_verifies(self):
        cfg = os.path.join(self.dir, f"{self.prefix}.toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.x]\n'
                    f'url = "s3://{self.env["S3_BUCKET"]}/{self.prefix}"\n'
                    f'endpoint = "{self.env["S3_HTTPS_ENDPOINT"]}"\n'
                    f'path_style = true\n'
                    f'ca_file = "{self.env["S3_CA_FILE"]}"\n')
        r = self.vault_check("--config", cfg, "--vault", "x", "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        self.assertNotIn("Unavailable", r.out)

    # (e)
    def test_missing_ca_file_is_a_usage_error(self):
        missing = os.path.join(self.dir, "nonexistent", "ca.pem")
        for name, (args, env) in {
            "--ca-file": (["--ca-file", missing], None),
            "AWS_CA_BUNDLE": ([], {"AWS_CA_BUNDLE": missing}),
        }.items():
            with self.subTest(name):
                r = self.vault_check(*self.args(*args), env=env)
                self.assertEqual(r.code, 2, r)
                self.assertIn(missing, r.err)
                self.assertIn("cannot be read", r.err)
        r = self.vault_check(*self.args("--ca-file", "/nonexistent"))
        self.assertEqual(r.code, 2, r)
        self.assertIn("'/nonexistent'", r.err)


if __name__ == "__main__":
    unittest.main()
