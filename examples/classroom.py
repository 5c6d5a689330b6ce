"""A remote classroom over TCP-SMO: session relay (paper section IV.B) in about a hundred lines.

The teacher (the source) multicasts a lecture, one line at a time. A student (a receiver)
sends a question up its own connection; the teacher learns who asked and repeats the
question to the whole class, in the stream, so that every student hears it.

Run it with no arguments: the teacher and three students run in this process on loopback
multicast (127.0.0.1). Or run each role on its own host::

    python examples/classroom.py teacher --bind 192.0.2.10:5000 --group 232.1.1.1:5000 --students 3
    python examples/classroom.py student --server 192.0.2.10:5000 --group 232.1.1.1:5000 \
        --trust SHA256:... --ask "why multicast?"

The class is authenticated and encrypted: the teacher proves this user's key (it prints the
fingerprint), and each student pins it with ``--trust``. It exits with 0 when every student
heard every question repeated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import smocast.aio as smocast
from smocast.aio.security import load_key
from smocast.aio.sockets import free_udp_port
from smocast.core.errors import SmocastError

LECTURE = [
    "Today: reliable multicast with TCP-SMO.",
    "Data goes once to the group; ACKs come back by unicast.",
    "The source keeps one control block per receiver.",
    "Repairs go by unicast, or by multicast when many lost the same segment.",
    "Relays carry the channel past one server's audience.",
]
LINE_PAUSE = 0.2  # seconds between lecture lines
QUESTION_WAIT = 5.0  # seconds the teacher waits for questions after the lecture
ASK_AFTER = 2  # a student with a question asks after hearing this many lines


async def teacher(bind: str, group: str, students: int, questions: int) -> int:
    """Lecture; repeat each question to the class with who asked it; close after ``questions`` of them."""
    async with smocast.open_channel(group, bind, min_receivers=students) as ch:
        print(f"teacher: students pin the key {ch.fingerprint}")
        await ch.wait_started()
        print(f"teacher: {students} students joined, starting")
        repeater = asyncio.create_task(repeat_questions(ch, questions))
        for line in LECTURE:
            await ch.send(f"{line}\n".encode())
            await asyncio.sleep(LINE_PAUSE)
        try:
            await asyncio.wait_for(asyncio.shield(repeater), QUESTION_WAIT)
        except TimeoutError:
            print("teacher: no more questions")
        repeater.cancel()
        await ch.send(b"Class dismissed.\n")
    return 0


async def repeat_questions(ch: smocast.AsyncChannel, wanted: int) -> None:
    repeated = 0
    async for message in ch.session_messages():
        host, port = message.address
        text = message.data.decode("utf-8", "replace")
        print(f"teacher: receiver {message.receiver} at {host}:{port} asks: {text}")
        await ch.send(f"Q from receiver {message.receiver}: {text}\n".encode())
        repeated += 1
        if repeated >= wanted:
            return


async def student(name: str, server: str, group: str, question: str | None, trust: str | None) -> list[str]:
    """Listen to the whole lecture; ask ``question`` after a few lines. Returns what was heard."""
    heard: list[str] = []
    pending = b""
    async with smocast.connect(server, group, trust=trust) as rx:
        async for chunk in rx:
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                heard.append(line.decode())
                print(f"{name} heard: {heard[-1]}")
                if question is not None and len(heard) == ASK_AFTER:
                    await rx.send_up(question.encode())
                    print(f"{name} asks: {question}")
    return heard


async def whole_class(students: int) -> int:
    """The teacher and ``students`` students in one process, on loopback multicast."""
    port = free_udp_port()
    bind, group = f"127.0.0.1:{port}", f"239.255.88.{port % 250 + 1}:{port}"
    question = "What happens when a relay dies?"
    key = load_key(None, None).identity.public.fingerprint  # the teacher's: this user's key, in this process
    lesson = asyncio.create_task(teacher(bind, group, students, questions=1))
    await asyncio.sleep(0.2)  # let the teacher bind its port
    heard = await asyncio.gather(
        *(student(f"student {k}", bind, group, question if k == 0 else None, key) for k in range(students))
    )
    await lesson
    everyone = all(any(line.startswith("Q from receiver") and question in line for line in h) for h in heard)
    print(f"every student heard the question: {'yes' if everyone else 'no'}")
    return 0 if everyone else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = parser.add_subparsers(dest="role")
    t = roles.add_parser("teacher", help="lecture and repeat the questions")
    t.add_argument("--bind", required=True, help="HOST:PORT students connect to")
    t.add_argument("--group", required=True, help="GROUP:PORT to multicast to")
    t.add_argument("--students", type=int, default=1, help="students to wait for")
    t.add_argument("--questions", type=int, default=1, help="close after repeating this many questions")
    s = roles.add_parser("student", help="listen, and maybe ask")
    s.add_argument("--server", required=True, help="the teacher's HOST:PORT")
    s.add_argument("--group", required=True, help="GROUP:PORT of the class")
    s.add_argument("--ask", default=None, help="a question to ask after the first lines")
    s.add_argument("--trust", default=None, help="the teacher's key (it prints it), SHA256:...")
    args = parser.parse_args(argv)
    try:
        if args.role == "teacher":
            return asyncio.run(teacher(args.bind, args.group, args.students, args.questions))
        if args.role == "student":
            asyncio.run(student("student", args.server, args.group, args.ask, args.trust))
            return 0
        return asyncio.run(whole_class(students=3))
    except (smocast.NetworkError, SmocastError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
