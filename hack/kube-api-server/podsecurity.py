"""Pod Security admission (k8s.io/pod-security-admission, policy version latest) for the
`baseline` and `restricted` levels, as the real API server applies it:

- a Pod in a namespace labelled pod-security.kubernetes.io/enforce=<level> that violates the
  level is refused: 403 `pods "x" is forbidden: violates PodSecurity "<level>:latest": ...`;
- a workload carrying a pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
  CronJob, ReplicationController, PodTemplate) is never refused, but when it violates the
  namespace's `warn` level the answer carries the warning `would violate PodSecurity
  "<level>:latest": ...` (kubectl prints it as "Warning: ...").

Each check returns the message the real policy check gives (policy/check_*.go), joined with
", " in the order of the checks' IDs, as the real evaluator runs them. Namespaces labelled `privileged` or not at all are not checked."""

LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                 "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
TEMPLATE_PATHS = {"Deployment": ("spec", "template"), "ReplicaSet": ("spec", "template"),
                  "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
                  "Job": ("spec", "template"), "ReplicationController": ("spec", "template"),
                  "PodTemplate": ("template",), "CronJob": ("spec", "jobTemplate", "spec",
                                                            "template")}


def _containers(spec):
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out += [c for c in spec.get(key) or [] if isinstance(c, dict)]
    return out


def _names(cs):
    return ", ".join(f'"{c.get("name")}"' for c in cs)


def _plural(cs, one, many):
    return one if len(cs) == 1 else many


def _baseline(spec):
    """check_hostNamespaces, check_privileged, check_capabilities_baseline, check_hostPath."""
    out = []
    host = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    if host:
        out.append(("hostNamespaces", "host namespaces (" + ", ".join(host) + ")"))
    cs = _containers(spec)
    priv = [c for c in cs if (c.get("securityContext") or {}).get("privileged")]
    if priv:
        out.append(("privileged", f"privileged ({_plural(priv, 'container', 'containers')} {_names(priv)} "
                   f"must not set securityContext.privileged=true)"))
    added = [c for c in cs if set(((c.get("securityContext") or {}).get("capabilities") or {})
                                  .get("add") or []) - BASELINE_CAPS]
    if added:
        caps = sorted({a for c in added for a in ((c.get("securityContext") or {})
                       .get("capabilities") or {}).get("add") or [] if a not in BASELINE_CAPS})
        out.append(("capabilities_baseline", f"non-default capabilities ({_plural(added, 'container', 'containers')} "
                   f"{_names(added)} must not include " + ", ".join(f'"{a}"' for a in caps) +
                   " in securityContext.capabilities.add)"))
    hp = [v.get("name") for v in spec.get("volumes") or [] if "hostPath" in (v or {})]
    if hp:
        out.append(("hostPathVolumes", f"hostPath {_plural(hp, 'volume', 'volumes')} " +
                   ", ".join(f'"{n}"' for n in hp)))
    return out


def _restricted(spec):
    """check_restrictedVolumes, check_allowPrivilegeEscalation, check_runAsNonRoot,
    check_runAsUser, check_seccompProfile_restricted, check_capabilities_restricted."""
    out = []
    bad = [v for v in spec.get("volumes") or []
           if not (set(v or {}) - {"name"}) <= RESTRICTED_VOLUMES]
    if bad:
        out.append(("restrictedVolumes", "restricted volume types (" + ", ".join(
            f'volume "{v.get("name")}" uses restricted volume type '
            f'"{sorted(set(v) - {"name"})[0]}"' for v in bad) + ")"))
    cs = _containers(spec)
    ctx = lambda c: c.get("securityContext") or {}  # noqa: E731
    psc = spec.get("securityContext") or {}
    ape = [c for c in cs if ctx(c).get("allowPrivilegeEscalation") is not False]
    if ape:
        out.append(("allowPrivilegeEscalation", f"allowPrivilegeEscalation != false ({_plural(ape, 'container', 'containers')}"
                   f" {_names(ape)} must set securityContext.allowPrivilegeEscalation=false)"))
    nonroot = [c for c in cs if ctx(c).get("runAsNonRoot") is False or (
        ctx(c).get("runAsNonRoot") is None and psc.get("runAsNonRoot") is not True)]
    if psc.get("runAsNonRoot") is False or nonroot:
        out.append(("runAsNonRoot", "runAsNonRoot != true (" + (
            "pod must not set securityContext.runAsNonRoot=false" if psc.get("runAsNonRoot")
            is False else f"pod or {_plural(nonroot, 'container', 'containers')} "
                          f"{_names(nonroot)} must set securityContext.runAsNonRoot=true") + ")"))
    root = [c for c in cs if ctx(c).get("runAsUser") == 0]
    if psc.get("runAsUser") == 0 or root:
        out.append(("runAsUser", "runAsUser=0 (" + ("pod must not set runAsUser=0" if psc.get("runAsUser") == 0
                   else f"{_plural(root, 'container', 'containers')} {_names(root)} must not "
                        f"set runAsUser=0") + ")"))
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    unset = [c for c in cs if (ctx(c).get("seccompProfile") or {}).get("type") not in
             ("RuntimeDefault", "Localhost") and not (
                 ctx(c).get("seccompProfile") is None and pod_seccomp in
                 ("RuntimeDefault", "Localhost"))]
    if unset:
        out.append(("seccompProfile_restricted", f"seccompProfile (pod or {_plural(unset, 'container', 'containers')} "
                   f"{_names(unset)} must set securityContext.seccompProfile.type to "
                   f"\"RuntimeDefault\" or \"Localhost\")"))
    nodrop = [c for c in cs if "ALL" not in ((ctx(c).get("capabilities") or {}).get("drop")
                                             or [])]
    if nodrop:
        out.append(("capabilities_restricted", f"unrestricted capabilities ({_plural(nodrop, 'container', 'containers')} "
                   f"{_names(nodrop)} must set securityContext.capabilities.drop=[\"ALL\"])"))
    return out


def violations(level, pod_spec):
    if level not in ("baseline", "restricted") or not isinstance(pod_spec, dict):
        return []
    out = _baseline(pod_spec)
    if level == "restricted":
        out += _restricted(pod_spec)
    # The real evaluator runs its checks in the order of their IDs.
    return [message for _, message in sorted(out)]


def _level(ns_obj, mode):
    labels = ((ns_obj or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(f"pod-security.kubernetes.io/{mode}")
    return level if level in LEVELS else None


def template_spec(kind, obj):
    path = TEMPLATE_PATHS.get(kind)
    if not path:
        return None
    cur = obj
    for key in path:
        cur = (cur or {}).get(key) if isinstance(cur, dict) else None
    return (cur or {}).get("spec") if isinstance(cur, dict) else None


def check(kind, obj, ns_obj):
    """(error message or None, warnings) for creating/updating `obj` in namespace `ns_obj`."""
    if kind == "Pod":
        level = _level(ns_obj, "enforce")
        v = violations(level, obj.get("spec"))
        if v:
            return f'violates PodSecurity "{level}:latest": ' + ", ".join(v), []
        return None, []
    level = _level(ns_obj, "warn")
    v = violations(level, template_spec(kind, obj))
    if v:
        return None, [f'would violate PodSecurity "{level}:latest": ' + ", ".join(v)]
    return None, []
