"""Network probes: name resolution (``resolver``) and path tracing (``tracers``).

``tracer_scapy`` is the only module that imports scapy (GPL-2.0-only, optional extra ``trace``);
``tracer_linux`` is the unprivileged Linux fallback. Neither knows anything of DNS, geo or
rendering: they take an address and return a ``mistral_sov.core.trace.TraceResult``.
"""
