"""Service validation and allocation of cluster IPs (10.96.0.0/12) and node ports
(30000-32767), with the real API server's errors for taken or out-of-range values."""
import ipaddress
import random

from errors import (field_duplicate, field_forbidden, field_invalid, field_required,
                    field_unsupported, invalid)

CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767
TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_rng = random.Random()


def validate_service(obj, old):
    spec = obj.get("spec") or {}
    t = spec.get("type", "ClusterIP")
    errs = []
    if t not in TYPES:
        return [field_unsupported("spec.type", t, TYPES)]
    ports = spec.get("ports") or []
    if t == "ExternalName":
        if not spec.get("externalName"):
            errs.append(field_required("spec.externalName"))
    elif not ports and spec.get("clusterIP") != "None":
        errs.append(field_required("spec.ports"))
    seen = set()
    for i, p in enumerate(ports):
        if len(ports) > 1 and not p.get("name"):
            errs.append(field_required(f"spec.ports[{i}].name"))
        port = p.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            errs.append(field_invalid(f"spec.ports[{i}].port", port,
                                      "must be between 1 and 65535, inclusive"))
        key = (port, p.get("protocol", "TCP"))
        if key in seen:
            errs.append(field_duplicate(f"spec.ports[{i}]", {"port": port}))
        seen.add(key)
        if p.get("nodePort") and t not in ("NodePort", "LoadBalancer"):
            errs.append(field_forbidden(f"spec.ports[{i}].nodePort",
                                        f"may not be used when `type` is '{t}'"))
        if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            errs.append(field_unsupported(f"spec.ports[{i}].protocol", p.get("protocol"),
                                          ["SCTP", "TCP", "UDP"]))
    return errs


def _used(services, me):
    ips, ports = set(), set()
    for s in services:
        m = s["metadata"]
        if (m.get("namespace"), m["name"]) == me:
            continue
        spec = s.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                ips.add(ip)
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                ports.add(p["nodePort"])
        if spec.get("healthCheckNodePort"):
            ports.add(spec["healthCheckNodePort"])
    return ips, ports


def allocate(obj, old, services):
    """Fills in clusterIP(s), nodePorts and healthCheckNodePort; raises 422 on a taken or
    out-of-range value. `services` are all stored Services."""
    meta = obj["metadata"]
    spec = obj.setdefault("spec", {})
    t = spec.get("type", "ClusterIP")
    ospec = (old or {}).get("spec") or {}
    otype = ospec.get("type", "ClusterIP")
    # On a create, a Service of the same name (the create fails AlreadyExists after this)
    # still holds its IPs and ports, as in the real allocators' bitmaps.
    me = (meta.get("namespace"), meta["name"]) if old is not None else None
    used_ips, used_ports = _used(services, me)
    errs = []
    if t == "ExternalName":
        if old is None or otype == "ExternalName" or \
                spec.get("clusterIP") == ospec.get("clusterIP"):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        spec.pop("ipFamilies", None)
        spec.pop("ipFamilyPolicy", None)
    else:
        want = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
        had = ospec.get("clusterIP") if otype != "ExternalName" else None
        if had and not want:
            want = had
        if had and want != had:
            errs.append(field_invalid("spec.clusterIPs[0]", [want], "may not change once set"))
        elif want == "None":
            pass
        elif want and want != had:
            try:
                ip = ipaddress.ip_address(want)
            except ValueError:
                ip = None
            if ip is None:
                errs.append(field_invalid("spec.clusterIPs[0]", want,
                                          "must be a valid IP address, (e.g. 10.9.8.7 or "
                                          "2001:db8::ffff)"))
            elif ip not in CIDR or ip in (CIDR.network_address, CIDR.broadcast_address):
                errs.append(field_invalid("spec.clusterIPs", [want],
                                          f"failed to allocate IP {want}: the provided IP "
                                          f"({want}) is not in the valid range. The range of "
                                          f"valid IPs is {CIDR}"))
            elif want in used_ips:
                errs.append(field_invalid("spec.clusterIPs", [want],
                                          f"failed to allocate IP {want}: provided IP is "
                                          f"already allocated"))
        elif not want:
            while True:
                cand = str(CIDR.network_address + _rng.randrange(2, CIDR.num_addresses - 1))
                if cand not in used_ips:
                    want = cand
                    break
        if want:
            spec["clusterIP"] = want
            spec["clusterIPs"] = [want]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    wants_node_ports = t == "NodePort" or (t == "LoadBalancer" and
                                           spec.get("allocateLoadBalancerNodePorts", True))
    taken = set(used_ports)
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                 for p in ospec.get("ports") or []}
    for i, p in enumerate(spec.get("ports") or []):
        key = (p.get("port"), p.get("protocol", "TCP"))
        if t in ("ClusterIP", "ExternalName") and otype in ("NodePort", "LoadBalancer") and \
                p.get("nodePort") and p.get("nodePort") == old_ports.get(key):
            p.pop("nodePort")
        if not wants_node_ports:
            continue
        np = p.get("nodePort")
        if not np and old_ports.get(key) and otype in ("NodePort", "LoadBalancer"):
            np = p["nodePort"] = old_ports[key]
        if np:
            if not isinstance(np, int) or not NODE_PORT_MIN <= np <= NODE_PORT_MAX:
                errs.append(field_invalid(f"spec.ports[{i}].nodePort", np,
                                          f"provided port is not in the valid range. The range "
                                          f"of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"))
            elif np in taken and np != old_ports.get(key):
                errs.append(field_invalid(f"spec.ports[{i}].nodePort", np,
                                          "provided port is already allocated"))
            taken.add(np)
        else:
            np = _free_port(taken)
            p["nodePort"] = np
            taken.add(np)
    if t == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        if not spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = ospec.get("healthCheckNodePort") or _free_port(taken)
    else:
        spec.pop("healthCheckNodePort", None)
    if errs:
        raise invalid("Service", "", meta["name"], errs)


def _free_port(taken):
    while True:
        cand = _rng.randrange(NODE_PORT_MIN, NODE_PORT_MAX + 1)
        if cand not in taken:
            return cand
