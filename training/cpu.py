"""What this CPU is, and roughly what it can do: its model (for speed records and the auto-jit
cache) and an estimate of its float32 peak (for the benchmark's fraction of peak). TF-free.

The peak is an estimate from /proc/cpuinfo: usable cores x clock x float32 lanes per vector
(16 with AVX-512F, 8 with AVX2 + FMA, 4 otherwise) x 2 (a fused multiply-add is two FLOPs) x 2 FMA
units per core. CPUs that split 512-bit operations into two 256-bit halves (AMD Zen 4) reach half
of the AVX-512 figure; turbo clocks lie above the listed one.
"""
import os
import platform

CPUINFO = "/proc/cpuinfo"


def _cpuinfo(path=CPUINFO):
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    fields = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_model(path=CPUINFO):
    """'AMD EPYC (family 25 model 17)': the model name with the family and model numbers, which
    virtual machines often keep when they shorten the name."""
    info = _cpuinfo(path)
    name = info.get("model name") or platform.processor() or platform.machine() or "unknown CPU"
    if "cpu family" in info and "model" in info:
        name += f" (family {info['cpu family']} model {info['model']})"
    return name


def vector_lanes(flags):
    """float32 lanes of the widest FMA vector the CPU flags announce."""
    flags = set(flags)
    if "avx512f" in flags:
        return 16
    if {"avx2", "fma"} <= flags:
        return 8
    return 4


def fp32_peak(path=CPUINFO, n_cores=None):
    """(estimated float32 FLOP/s, a one-line description of how), or (None, reason)."""
    info = _cpuinfo(path)
    try:
        mhz = float(info["cpu MHz"])
    except (KeyError, ValueError):
        return None, "no clock in /proc/cpuinfo"
    flags = info.get("flags", "").split()
    lanes = vector_lanes(flags)
    n = n_cores or cores()
    isa = "AVX-512" if lanes == 16 else "AVX2+FMA" if lanes == 8 else "SSE"
    peak = n * mhz * 1e6 * lanes * 2 * 2
    bf16 = ", bf16 instructions" if ({"avx512_bf16", "amx_bf16"} & set(flags)) else ""
    return peak, (f"estimate: {n} cores x {mhz / 1000:.2f} GHz x {lanes} fp32 lanes ({isa}{bf16}) "
                  "x 2 (FMA) x 2 FMA units")
