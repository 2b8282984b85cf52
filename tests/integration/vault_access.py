"""Vaults as the integration tests reach them: a local directory or a prefix of the S3 test
server, with the arguments the cairn executables take and raw access to the stored objects
(what a user with `aws s3 cp` or a forger would do). The S3 requests are signed with AWS
Signature Version 4 using only the standard library."""
import datetime
import hashlib
import hmac
import os
import urllib.error
import urllib.parse
import urllib.request


class FileVault:
    """file:///ROOT"""

    def __init__(self, root):
        self.root = root

    def args(self):
        return ["--url", f"file://{self.root}"]

    def read(self, key):
        with open(os.path.join(self.root, key), "rb") as f:
            return f.read()

    def write(self, key, data):
        path = os.path.join(self.root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def another(self, name):
        """A second, empty vault beside this one."""
        return FileVault(os.path.join(os.path.dirname(self.root), name))


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class S3Vault:
    """s3://BUCKET/PREFIX on the S3 test server; `env` from cairn_test_support.s3_env()."""

    def __init__(self, env, prefix):
        self.env = env
        self.prefix = prefix
        self.region = os.environ.get("AWS_REGION", "us-east-1")

    def args(self):
        return ["--url", f"s3://{self.env['S3_BUCKET']}/{self.prefix}",
                "--endpoint", self.env["S3_ENDPOINT"], "--path-style"]

    def another(self, name):
        return S3Vault(self.env, f"{self.prefix}-{name}")

    def read(self, key):
        return self._request("GET", key)

    def write(self, key, data):
        self._request("PUT", key, data)

    def _request(self, method, key, body=b""):
        endpoint = urllib.parse.urlsplit(self.env["S3_ENDPOINT"])
        path = "/" + urllib.parse.quote(f"{self.env['S3_BUCKET']}/{self.prefix}/{key}",
                                        safe="/-_.~")
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": endpoint.netloc, "x-amz-content-sha256": payload,
                   "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, "",
                               "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
                               signed, payload])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        key_ = ("AWS4" + self.env["AWS_SECRET_ACCESS_KEY"]).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key_ = _hmac(key_, part)
        signature = hmac.new(key_, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.env['AWS_ACCESS_KEY_ID']}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}")
        req = urllib.request.Request(f"{endpoint.scheme}://{endpoint.netloc}{path}",
                                     data=body if method == "PUT" else None, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: {e.code} {e.read()[:300]!r}") from None
