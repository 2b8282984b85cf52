"""Status objects and the errors the API server answers with, worded as the real one words them."""


class ApiError(Exception):
    """An error answered as a metav1.Status body with an HTTP status code."""

    def __init__(self, code, reason, message, details=None, headers=None, meta=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.meta = meta or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.meta),
                "status": "Failure", "message": self.message}
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(resource, group):
    return resource if not group else f"{resource}.{group}"


def _details(resource, group, name=None, **extra):
    d = {}
    if name is not None:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    d.update(extra)
    return d


def not_found(resource, group, name):
    return ApiError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                    _details(resource, group, name))


def page_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource, group, name):
    return ApiError(409, "AlreadyExists", f'{qualified(resource, group)} "{name}" already exists',
                    _details(resource, group, name))


def conflict(resource, group, name, why):
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {qualified(resource, group)} '
                    f'"{name}": {why}',
                    _details(resource, group, name))


STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


def go_value(v):
    """Formats a value the way Go's %#v does in field.Invalid messages."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if v is None:
        return "null"
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(go_value(x) for x in v) + "}"
    if isinstance(v, (dict, list)):
        return "{...}"
    return str(v)


class Cause:
    """A field.Error: (type, field, value, detail)."""
    REASONS = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
               "Unsupported value": "FieldValueNotSupported", "Forbidden": "FieldValueForbidden",
               "Duplicate value": "FieldValueDuplicate", "Too long": "FieldValueTooLong",
               "Too many": "FieldValueTooMany", "Invalid type": "FieldValueTypeInvalid",
               "Internal error": "InternalError"}

    def __init__(self, kind, field, detail="", value=None, has_value=False):
        self.kind = kind
        self.field = field
        self.detail = detail
        self.value = value
        self.has_value = has_value

    def body(self):
        if self.has_value:
            msg = f"{self.kind}: {go_value(self.value)}"
            if self.detail:
                msg += f": {self.detail}"
        else:
            msg = self.kind + (f": {self.detail}" if self.detail else "")
        return msg

    def text(self):
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def json(self):
        return {"reason": self.REASONS.get(self.kind, "FieldValueInvalid"), "message": self.body(),
                "field": self.field}


def field_invalid(field, value, detail):
    return Cause("Invalid value", field, detail, value, True)


def field_required(field, detail=""):
    return Cause("Required value", field, detail)


def field_forbidden(field, detail):
    return Cause("Forbidden", field, detail)


def field_unsupported(field, value, allowed):
    return Cause("Unsupported value", field,
                 "supported values: " + ", ".join(go_value(a) for a in allowed), value, True)


def field_duplicate(field, value):
    return Cause("Duplicate value", field, "", value, True)


def invalid(kind, group, name, causes):
    texts = [c.text() for c in causes]
    agg = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    qk = kind if not group else f"{kind}.{group}"
    details = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [c.json() for c in causes]
    return ApiError(422, "Invalid", f'{qk} "{name}" is invalid: {agg}', details)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(resource, group, name, message):
    prefix = qualified(resource, group) + (f' "{name}"' if name else "")
    return ApiError(403, "Forbidden", f"{prefix} is forbidden: {message}",
                    _details(resource, group, name or None))


def rbac_forbidden(user, verb, resource, group, subresource, name, namespace):
    res = resource + (f"/{subresource}" if subresource else "")
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    why = (f'User "{user}" cannot {verb} resource "{res}" in API group "{group}" {where}')
    return forbidden(resource, group, name, why)


def expired(message, new_continue=None):
    meta = {"continue": new_continue} if new_continue else None
    return ApiError(410, "Expired", message, None, meta=meta)


def gone(message):
    return ApiError(410, "Gone", message)


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def unsupported_media(content_type, accepted):
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: {', '.join(accepted)}", {})


def not_acceptable(accepted):
    return ApiError(406, "NotAcceptable",
                    "only the following media types are accepted: " + ", ".join(accepted), {})


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_many_requests(retry_after=1):
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": retry_after})


def internal(message):
    return ApiError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


def unavailable(message="the server is currently unable to handle the request"):
    return ApiError(503, "ServiceUnavailable", message, {})


def timeout(message):
    return ApiError(504, "Timeout", message, {})


def success(resource, group, name, uid):
    details = _details(resource, group, name)
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}
