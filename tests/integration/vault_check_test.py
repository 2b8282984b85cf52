"""vault-check as a user runs it: real processes against the S3 test server, a local directory,
an unreachable endpoint, and the fault proxy."""
import json
import os
import shutil
import socket
import tempfile
import unittest

from cairn_test_support import FaultProxy, run, s3_env, unique


def s3_args(env, prefix, endpoint=None):
    return ["--url", f"s3://{env['S3_BUCKET']}/{prefix}",
            "--endpoint", endpoint or env["S3_ENDPOINT"], "--path-style"]


class S3VaultCheck(unittest.TestCase):
    def setUp(self):
        self.env = s3_env()
        self.prefix = unique("vc")

    def test_available_and_initialised(self):
        r = run("vault-check", *s3_args(self.env, self.prefix), "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        # A second check reads the vault identity it created and reports JSON.
        r = run("vault-check", *s3_args(self.env, self.prefix), "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertEqual(status["kind"], "VaultCheck")
        self.assertEqual(status["phase"], "Available")
        self.assertIn("lastValidated", status)
        names = {c["name"]: c["result"] for c in status["checks"]}
        for check in ["endpoint", "bucket", "credentials", "write", "read", "list", "delete",
                      "vault-format", "clock-skew", "storage-class"]:
            self.assertEqual(names.get(check), "passed", f"{check}: {status['checks']}")

    def test_wrong_secret_is_unavailable_and_never_printed(self):
        secret = "WRONG" + unique("secret").upper()
        r = run("vault-check", *s3_args(self.env, self.prefix),
                env={"AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("VaultError: backup vault is unavailable", r.all)
        self.assertIn("StatusCode=403", r.all)
        self.assertIn("ErrorCode=SignatureDoesNotMatch", r.all)
        self.assertRegex(r.all, r"RequestId=\S+")
        self.assertNotIn(secret, r.all)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)
        self.assertNotIn("Signature=", r.all)

    def test_session_token_never_printed(self):
        token = "SESSIONTOKEN" + unique("t").upper()
        r = run("vault-check", *s3_args(self.env, self.prefix), "--output", "json",
                "--log-format", "json", env={"AWS_SESSION_TOKEN": token})
        self.assertIn(r.code, (0, 1), r)
        self.assertNotIn(token, r.all)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)

    def test_secret_never_appears_in_output_or_status(self):
        r = run("vault-check", *s3_args(self.env, self.prefix), "--init", "--output", "json",
                "--log-format", "json")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn(self.env["AWS_SECRET_ACCESS_KEY"], r.all)
        self.assertNotIn("Signature=", r.all)

    def test_missing_bucket(self):
        r = run("vault-check", "--url", f"s3://{unique('nobucket')}/x",
                "--endpoint", self.env["S3_ENDPOINT"], "--path-style")
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("ErrorCode=NoSuchBucket", r.all)

    def test_unreachable_endpoint(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = run("vault-check", *s3_args(self.env, self.prefix, f"http://127.0.0.1:{port}"),
                "--timeout", "5s")
        self.assertEqual(r.code, 1, r)
        self.assertIn("Unavailable", r.out)
        self.assertIn("tcp connect failed", r.all)

    def test_probe_read_returning_different_bytes(self):
        with FaultProxy(self.env["S3_ENDPOINT"],
                        {"corrupt_get_rate": 1.0, "path_regex": r"\.cairn-probe/"}) as proxy:
            r = run("vault-check", *s3_args(self.env, self.prefix, proxy.url), "--output", "json")
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Unavailable")
        read = [c for c in status["checks"] if c["name"] == "read"][0]
        self.assertEqual(read["result"], "failed")
        self.assertIn("different bytes", read["message"])

    def test_retries_through_transient_faults(self):
        with FaultProxy(self.env["S3_ENDPOINT"], {"error_rate": 0.3, "errors": ["SlowDown", 500],
                                                  "seed": 7}) as proxy:
            r = run("vault-check", *s3_args(self.env, self.prefix, proxy.url), "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)


class FileVaultCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-vc-")
        self.vault = os.path.join(self.dir, "vault")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_init_without_any_server(self):
        r = run("vault-check", "--url", f"file://{self.vault}", "--init",
                env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)
        with open(os.path.join(self.vault, "cairn-vault.json")) as f:
            info = json.load(f)
        self.assertEqual(info["format_version"], "1.0")
        with open(os.path.join(self.vault, "vault-status.json")) as f:
            self.assertEqual(json.load(f)["phase"], "Available")
        self.assertFalse(os.listdir(os.path.join(self.vault, ".cairn-probe"))
                         if os.path.isdir(os.path.join(self.vault, ".cairn-probe")) else [])

    def test_unusable_directory_is_unavailable_not_a_usage_error(self):
        r = run("vault-check", "--url", "file:///proc/cairn-cannot-create", "--output", "json")
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Unavailable")
        self.assertEqual(status["checks"][0]["name"], "endpoint")
        self.assertIn("/proc/cairn-cannot-create", status["message"])

    def test_file_vault_is_private(self):
        r = run("vault-check", "--url", f"file://{self.vault}", "--init")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(os.stat(self.vault).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(self.vault, "cairn-vault.json")).st_mode & 0o777,
                         0o600)

    def test_newer_format_is_refused(self):
        os.makedirs(self.vault)
        with open(os.path.join(self.vault, "cairn-vault.json"), "w") as f:
            json.dump({"format_version": "2.0", "vault_id": "x", "created": "2026-01-01T00:00:00Z",
                       "created_by": "cairn 9", "encryption": {"mode": "none"}}, f)
        r = run("vault-check", "--url", f"file://{self.vault}")
        self.assertEqual(r.code, 1, r)
        self.assertIn("vault format 2.0 is newer than this cairn understands (1.x)", r.all)

    def test_foreign_prefixes_are_warnings(self):
        os.makedirs(os.path.join(self.vault, "someone-else"))
        with open(os.path.join(self.vault, "someone-else", "data"), "w") as f:
            f.write("x")
        r = run("vault-check", "--url", f"file://{self.vault}", "--init", "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        foreign = [c for c in status["checks"] if c["name"] == "foreign-prefixes"][0]
        self.assertEqual(foreign["result"], "warning")
        self.assertIn("someone-else/", foreign["message"])

    def test_bad_invocation_exits_2(self):
        r = run("vault-check", "--edpoint", "http://x")
        self.assertEqual(r.code, 2, r)
        self.assertIn("did you mean '--endpoint'", r.err)
        r = run("vault-check")
        self.assertEqual(r.code, 2, r)
        self.assertIn("no vault given", r.err)

    def test_bad_config_names_file_and_line(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write('[vaults.main]\nurl = "file:///tmp/x"\nregion = 5\n')
        r = run("vault-check", "--config", cfg)
        self.assertEqual(r.code, 2, r)
        self.assertIn(f"{cfg}:3:", r.err)
        self.assertIn("vaults.main.region", r.err)

    def test_config_vault_by_name(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.local]\nurl = "file://{self.vault}"\n')
        r = run("vault-check", "--config", cfg, "--vault", "local", "--init")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Available", r.out)

    def write_backup(self, name, phase, complete, start):
        d = os.path.join(self.vault, "backups", name)
        os.makedirs(d)
        status = {"apiVersion": "cairn.io/v1", "kind": "Backup", "name": name, "vault": "v",
                  "policy": "", "phase": phase, "message": "", "startTime": start,
                  "heartbeatTime": start, "durationSeconds": 1, "job": {}, "counts": {},
                  "sizes": {}, "errors": {"count": 0, "byScope": {}, "items": []},
                  "warnings": {"count": 0, "byScope": {}, "items": []}}
        with open(os.path.join(d, "status.json"), "w") as f:
            json.dump(status, f)
        with open(os.path.join(d, "resources.tar.zst"), "wb") as f:
            f.write(b"x" * 3000)
        if complete:
            with open(os.path.join(d, "manifest.json"), "w") as f:
                f.write("{}")

    def test_list_shows_complete_and_incomplete_backups(self):
        self.assertEqual(run("vault-check", "--url", f"file://{self.vault}", "--init").code, 0)
        self.write_backup("shop-20261101000000", "Completed", True, "2026-11-01T00:00:00Z")
        self.write_backup("shop-20261102000000", "InProgress", False, "2026-11-02T00:00:00Z")
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        backups = {b["name"]: b for b in r.json()["backups"]}
        self.assertEqual(set(backups), {"shop-20261101000000", "shop-20261102000000"})
        done = backups["shop-20261101000000"]
        self.assertTrue(done["complete"])
        self.assertTrue(done["restorable"])
        self.assertEqual(done["phase"], "Completed")
        self.assertGreaterEqual(done["size"], 3000)
        partial = backups["shop-20261102000000"]
        self.assertFalse(partial["complete"])
        self.assertFalse(partial["restorable"])
        self.assertEqual(partial["phase"], "InProgress")
        r = run("vault-check", "--url", f"file://{self.vault}", "--list")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"shop-20261101000000\s+Completed\s+yes")
        self.assertRegex(r.out, r"shop-20261102000000\s+InProgress\s+no")
        # vault-check counts the backups it sees.
        r = run("vault-check", "--url", f"file://{self.vault}", "--output", "json")
        self.assertEqual(r.json()["counts"]["backups"], 2)

    def test_help_and_version(self):
        r = run("vault-check", "--help")
        self.assertEqual(r.code, 0, r)
        for flag in ["--url", "--vault", "--endpoint", "--init", "--list", "--output"]:
            self.assertIn(flag, r.out)
        r = run("vault-check", "--version")
        self.assertEqual(r.code, 0, r)
        self.assertIn("cairn", r.out)


if __name__ == "__main__":
    unittest.main()
