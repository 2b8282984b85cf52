"""Validation of batch/v1 CronJobs and Jobs as the real API server does it
(pkg/apis/batch/validation/validation.go, Kubernetes 1.31): the CronJob name length, the
schedule as robfig/cron/v3's ParseStandard reads it, timeZone, concurrencyPolicy, the
non-negative counts and durations, the pod template's restartPolicy, and podFailurePolicy
(restartPolicy Never, one of onExitCodes and onPodConditions per rule, exit code lists sorted,
unique and without 0 for In, containerName naming a container of the template).

errors(kind, obj) returns field causes (errors.Cause) for kinds.validate()."""
import re
import zoneinfo

from errors import Cause, field_duplicate, field_invalid, field_required, field_unsupported

CRONJOB_NAME_MAX = 52  # the controller appends an 11-character suffix to its Jobs' names
ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# (minimum, maximum, names) of minute, hour, day of month, month, day of week.
FIELDS = [(0, 59, {}), (0, 23, {}), (1, 31, {}),
          (1, 12, {m: i + 1 for i, m in enumerate(
              "jan feb mar apr may jun jul aug sep oct nov dec".split())}),
          (0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())})]


class CronError(Exception):
    pass


def _number(text, names):
    if text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": '
                        f'invalid syntax')
    value = int(text)
    if value < 0:
        raise CronError(f"negative number ({value}) not allowed: {text}")
    return value


def _range(expr, low, high, names):
    """robfig/cron/v3 getRange: `*`, `?`, N, N-M, each with an optional /STEP."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _number(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _number(low_and_high[1], names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], {})
        if step <= 0:
            raise CronError(f"step of range should be a positive number: {expr}")
        if len(low_and_high) == 1 and low_and_high[0] not in ("*", "?"):
            end = high  # "N/step" means N-max/step
    elif len(range_and_step) > 2:
        raise CronError(f"too many slashes: {expr}")
    if start < low:
        raise CronError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise CronError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")


def parse_standard(spec):
    """Raises CronError with robfig/cron/v3's message when ParseStandard refuses `spec`."""
    if not spec:
        raise CronError("empty spec string")
    fields = spec.split()
    if fields and (fields[0].startswith("TZ=") or fields[0].startswith("CRON_TZ=")):
        tz = fields[0].split("=", 1)[1]
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CronError(f"provided bad location {tz}: unknown time zone {tz}") from None
        fields = fields[1:]
    if fields and fields[0].startswith("@"):
        if fields[0] in DESCRIPTORS:
            return
        if fields[0] == "@every":
            return
        raise CronError(f"unrecognized descriptor: {fields[0]}")
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for text, (low, high, names) in zip(fields, FIELDS):
        for expr in text.split(","):
            _range(expr, low, high, names)


def _cronjob_errors(obj):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errs = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > CRONJOB_NAME_MAX:
        errs.append(field_invalid("metadata.name", name,
                                  f"must be no more than {CRONJOB_NAME_MAX} characters"))
    schedule = spec.get("schedule") or ""
    tz = spec.get("timeZone")
    if not schedule:
        errs.append(field_required("spec.schedule"))
    else:
        try:
            parse_standard(schedule)
        except CronError as e:
            errs.append(field_invalid("spec.schedule", schedule, str(e)))
        if "TZ" in schedule:
            errs.append(field_invalid("spec.schedule", schedule,
                                      "cannot use TZ or CRON_TZ in schedule, use timeZone field "
                                      "instead"))
    if tz is not None:
        errs += _time_zone_errors(tz)
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                "failedJobsHistoryLimit"):
        errs += _non_negative(spec, key, "spec")
    policy = spec.get("concurrencyPolicy")
    if policy not in ("Allow", "Forbid", "Replace"):
        errs.append(field_unsupported("spec.concurrencyPolicy", policy,
                                      ["Allow", "Forbid", "Replace"]))
    jt = (spec.get("jobTemplate") or {}).get("spec") or {}
    errs += job_spec_errors(jt, "spec.jobTemplate.spec")
    if jt.get("manualSelector"):
        errs.append(field_unsupported("spec.jobTemplate.spec.manualSelector", True,
                                      ["nil", "false"]))
    return errs


def _time_zone_errors(tz):
    if tz == "":
        return [field_invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string")]
    if tz.lower() == "local":
        return [field_invalid("spec.timeZone", tz, "timeZone must be an explicit time zone as "
                              "defined in https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [field_invalid("spec.timeZone", tz, f"unknown time zone {tz}")]
    return []


def _non_negative(spec, key, path):
    value = spec.get(key)
    if isinstance(value, int) and value < 0:
        return [field_invalid(f"{path}.{key}", value, "must be greater than or equal to 0")]
    return []


def job_spec_errors(spec, path):
    """validateJobSpec: counts, deadlines, the template's restartPolicy, podFailurePolicy."""
    errs = []
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        errs += _non_negative(spec, key, path)
    ads = spec.get("activeDeadlineSeconds")
    if isinstance(ads, int) and ads <= 0:
        errs.append(field_invalid(f"{path}.activeDeadlineSeconds", ads,
                                  "must be greater than 0"))
    pod = ((spec.get("template") or {}).get("spec") or {})
    restart = pod.get("restartPolicy")
    rp_path = f"{path}.template.spec.restartPolicy"
    if restart not in ("OnFailure", "Never"):
        errs.append(field_unsupported(rp_path, restart, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and restart != "Never":
        errs.append(field_invalid(rp_path, restart,
                                  'only "Never" is supported when podFailurePolicy is specified'))
    if spec.get("podFailurePolicy") is not None:
        errs += _pod_failure_policy_errors(spec, f"{path}.podFailurePolicy")
    return errs


def _pod_failure_policy_errors(spec, path):
    pod = ((spec.get("template") or {}).get("spec") or {})
    containers = {c.get("name") for c in (pod.get("containers") or []) +
                  (pod.get("initContainers") or []) if isinstance(c, dict)}
    rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
    errs = []
    if len(rules) > 20:
        errs.append(field_invalid(f"{path}.rules", len(rules), "must have at most 20 items"))
    for i, rule in enumerate(rules):
        errs += _rule_errors(rule or {}, f"{path}.rules[{i}]", containers, spec)
    return errs


def _rule_errors(rule, path, containers, spec):
    errs = []
    action = rule.get("action")
    if not action:
        errs.append(field_required(f"{path}.action", "valid values: " + str(ACTIONS)))
    elif action == "FailIndex" and spec.get("backoffLimitPerIndex") is None:
        errs.append(field_invalid(f"{path}.action", action,
                                  "requires the backoffLimitPerIndex to be set"))
    elif action not in ACTIONS:
        errs.append(field_unsupported(f"{path}.action", action, ACTIONS))
    codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions") or []
    if codes is not None and conditions:
        errs.append(field_invalid(path, "", "specifying both OnExitCodes and OnPodConditions "
                                            "is not supported"))
    elif codes is None and not conditions:
        errs.append(field_invalid(path, "", "specifying one of OnExitCodes and OnPodConditions "
                                            "is required"))
    if codes is not None:
        errs += _exit_code_errors(codes, f"{path}.onExitCodes", containers)
    for j, cond in enumerate(conditions):
        if not (cond or {}).get("type"):
            errs.append(field_required(f"{path}.onPodConditions[{j}].type"))
        status = (cond or {}).get("status", "True")
        if status not in ("True", "False", "Unknown"):
            errs.append(field_unsupported(f"{path}.onPodConditions[{j}].status", status,
                                          ["False", "True", "Unknown"]))
    return errs


def _exit_code_errors(codes, path, containers):
    errs = []
    op = codes.get("operator")
    if op not in ("In", "NotIn"):
        errs.append(field_unsupported(f"{path}.operator", op, ["In", "NotIn"]))
    name = codes.get("containerName")
    if name is not None and name not in containers:
        errs.append(field_invalid(f"{path}.containerName", name, "must be one of the container "
                                  "or initContainer names in the pod template"))
    values = codes.get("values") or []
    if not values:
        errs.append(field_required(f"{path}.values", "at least one value is required"))
    elif len(values) > 255:
        errs.append(field_invalid(f"{path}.values", len(values), "must have at most 255 items"))
    seen = set()
    for k, v in enumerate(values):
        vp = f"{path}.values[{k}]"
        if op == "In" and v == 0:
            errs.append(field_invalid(vp, v, "must not be 0 for the In operator"))
        if v in seen:
            errs.append(field_duplicate(vp, v))
        if k > 0 and values[k - 1] > v:
            errs.append(field_invalid(vp, v, "must be ordered"))
        seen.add(v)
    return errs


def errors(kind, obj):
    if kind == "CronJob":
        return _cronjob_errors(obj)
    if kind == "Job":
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        return job_spec_errors(spec, "spec")
    return []


def _true(status, ctype):
    return any(c.get("type") == ctype and c.get("status") == "True"
               for c in status.get("conditions") or [])


def job_status_errors(obj, old):
    """validateJobStatus / ValidateJobStatusUpdate's checks that hold with the default feature
    gates of 1.31 (JobPodReplacementPolicy on): conditions that cannot be true together, and a
    SuccessCriteriaMet=True that cannot be taken back."""
    st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    before = (old or {}).get("status") or {}
    out = []
    complete, failed = _true(st, "Complete"), _true(st, "Failed")
    target, met = _true(st, "FailureTarget"), _true(st, "SuccessCriteriaMet")
    for bad, msg in ((complete and failed, "cannot set Complete=True and Failed=true conditions"),
                     (complete and target,
                      "cannot set Complete=True and FailureTarget=true conditions"),
                     (met and failed, "cannot set SuccessCriteriaMet=True and Failed=true "
                                      "conditions"),
                     (met and target, "cannot set SuccessCriteriaMet=True and FailureTarget=true "
                                      "conditions"),
                     (_true(before, "SuccessCriteriaMet") and not met,
                      "cannot disable the SuccessCriteriaMet=True condition")):
        if bad:  # field.OmitValueType: no value in the message
            out.append(Cause("Invalid value", "status.conditions", msg))
    return out
