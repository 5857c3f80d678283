"""Child processes that never outlive their parent.

POSIX: the child gets its own session/process group (a Ctrl-C in the terminal reaches only the
parent, which then stops the child itself), and on Linux ``PR_SET_PDEATHSIG`` = SIGKILL so even
a SIGKILL or crash of the parent takes it down. ``PR_SET_PDEATHSIG`` fires when the *thread*
that forked the child exits, so callers spawn from a thread that lives as long as the child
(the supervisor's monitor thread). Windows: the child is assigned to a Job Object with
``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``; the job handle lives in this process, so when the
process ends for any reason the kernel closes it and kills the child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, Any

PR_SET_PDEATHSIG = 1
ACCESS_VIOLATION = (0xC0000005, 0xC0000005 - (1 << 32))  # Windows' segmentation fault exit codes


def signal_name(returncode: int | None) -> str:
    """'SIGSEGV' for -11, 'exit 3' for 3, '' while running."""
    if returncode is None:
        return ""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    if returncode in ACCESS_VIOLATION:
        return "ACCESS_VIOLATION"
    return f"exit {returncode}"


def crashed(returncode: int | None) -> bool:
    """Killed by a signal (POSIX) or an access violation (Windows): the engine crashed."""
    if returncode is None:
        return False
    if returncode < 0:
        return True
    return returncode in ACCESS_VIOLATION


def faulted(returncode: int | None) -> bool:
    """A CPU fault (segmentation fault, bus error, illegal instruction, FP exception, abort):
    what a broken kernel does; a SIGKILL/SIGTERM from outside (OOM killer, administrator) is not."""
    if returncode is None:
        return False
    if returncode in ACCESS_VIOLATION:
        return True
    faults = {getattr(signal, n) for n in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT") if hasattr(signal, n)}
    return returncode < 0 and -returncode in faults


def _linux_preexec(parent: int) -> Any:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing to import in the child
    prctl = libc.prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _last_error() -> int:
    import ctypes

    return int(ctypes.get_last_error())  # type: ignore[attr-defined,unused-ignore]


class _WindowsJob:
    """A Job Object that kills its processes when its last handle closes (this process exits)."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]

        class IoCounters(ctypes.Structure):
            _fields_ = [(n, ctypes.c_ulonglong) for n in ("r", "w", "o", "rb", "wb", "ob")]

        class BasicLimits(ctypes.Structure):
            _fields_ = [
                ("PerProcessUserTimeLimit", ctypes.c_int64),
                ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD),
                ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t),
                ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t),
                ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD),
            ]

        class ExtendedLimits(ctypes.Structure):
            _fields_ = [
                ("BasicLimitInformation", BasicLimits),
                ("IoInfo", IoCounters),
                ("ProcessMemoryLimit", ctypes.c_size_t),
                ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t),
                ("PeakJobMemoryUsed", ctypes.c_size_t),
            ]

        kernel32.CreateJobObjectW.restype = wintypes.HANDLE
        self.kernel32 = kernel32
        self.handle = kernel32.CreateJobObjectW(None, None)
        if not self.handle:
            raise OSError(_last_error(), "CreateJobObjectW failed")
        info = ExtendedLimits()
        info.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        ok = kernel32.SetInformationJobObject(
            self.handle, 9, ctypes.byref(info), ctypes.sizeof(info)
        )  # 9 = JobObjectExtendedLimitInformation
        if not ok:
            raise OSError(_last_error(), "SetInformationJobObject failed")

    def assign(self, proc: subprocess.Popen[bytes]) -> None:
        handle = int(proc._handle)  # type: ignore[attr-defined]
        if not self.kernel32.AssignProcessToJobObject(self.handle, handle):
            raise OSError(_last_error(), "AssignProcessToJobObject failed")


_JOB: _WindowsJob | None = None


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    output: IO[bytes] | int | None = subprocess.DEVNULL,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a child bound to this process's lifetime."""
    global _JOB
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        proc = subprocess.Popen(
            list(argv), env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, creationflags=flags
        )
        try:
            if _JOB is None:
                _JOB = _WindowsJob()
            _JOB.assign(proc)
        except OSError:
            proc.kill()
            raise
        return proc
    preexec = _linux_preexec(os.getpid()) if sys.platform.startswith("linux") else None
    return subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=preexec,  # noqa: PLW1509 - it only calls prctl() and getppid(), no locks
        pass_fds=tuple(pass_fds),
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate the child and its whole process group; kill what does not exit in time."""
    if proc.poll() is None:
        if sys.platform == "win32":
            proc.terminate()
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if sys.platform == "win32":
                proc.kill()
            else:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    elif sys.platform != "win32":  # the leader is gone; make sure nothing it forked survives
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
