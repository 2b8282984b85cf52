"""A minimal S3 client for tests (Python standard library only): SigV4-signed, path-style
requests to the S3 test server, to look at a bucket from outside cairn: objects, their bytes,
and pending multipart uploads.

    s3 = S3Client.from_env()              # S3_ENDPOINT, S3_BUCKET, AWS_* (scripts/test)
    s3.pending_uploads("prefix/")         # [(key, upload_id), ...]
    s3.get("prefix/backups/b/status.json")
"""
import datetime
import hashlib
import hmac
import os
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def _quote(s):
    return urllib.parse.quote(s, safe="-_.~")


class S3Client:
    def __init__(self, endpoint, bucket, key_id, secret, region="us-east-1"):
        self.endpoint = endpoint.rstrip("/")
        self.host = self.endpoint.split("://", 1)[1]
        self.bucket, self.key_id, self.secret, self.region = bucket, key_id, secret, region

    @classmethod
    def from_env(cls):
        e = os.environ
        return cls(e["S3_ENDPOINT"], e["S3_BUCKET"], e["AWS_ACCESS_KEY_ID"],
                   e["AWS_SECRET_ACCESS_KEY"], e.get("AWS_REGION", "us-east-1"))

    def request(self, method, key="", query=None):
        """Returns (status, body bytes)."""
        path = "/" + self.bucket + ("/" + urllib.parse.quote(key, safe="/-_.~") if key else "")
        q = sorted((query or {}).items())
        canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in q)
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(b"").hexdigest()
        headers = {"host": self.host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, canonical_query,
                               *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed,
                               payload])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key_id}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={signature}")
        del headers["host"]
        url = self.endpoint + path + ("?" + canonical_query if canonical_query else "")
        req = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    @staticmethod
    def _children(body, name):
        root = ET.fromstring(body)
        return [el for el in root.iter() if el.tag.split("}")[-1] == name]

    @staticmethod
    def _text(el, name):
        for c in el:
            if c.tag.split("}")[-1] == name:
                return c.text or ""
        return ""

    def pending_uploads(self, prefix):
        """Incomplete multipart uploads under `prefix`: [(key, upload_id)]."""
        status, body = self.request("GET", query={"uploads": "", "prefix": prefix})
        assert status == 200, (status, body)
        return [(self._text(u, "Key"), self._text(u, "UploadId"))
                for u in self._children(body, "Upload")]

    def keys(self, prefix):
        status, body = self.request("GET", query={"list-type": "2", "prefix": prefix})
        assert status == 200, (status, body)
        return [self._text(c, "Key") for c in self._children(body, "Contents")]

    def get(self, key):
        """The object's bytes, or None when it does not exist."""
        status, body = self.request("GET", key)
        if status == 404:
            return None
        assert status == 200, (status, body)
        return body
