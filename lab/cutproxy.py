"""A TCP proxy that cuts its connections mid-line on demand: forwards LISTEN_PORT to TARGET_PORT
on 127.0.0.1 and, on SIGUSR1, sends each open connection's next answer bytes only up to the
middle of their first line, then closes both sides, as a network that drops a long-lived
stream would. Used by tests/live.rs to prove a followed log resumes with no line lost or twice.

usage: cutproxy.py LISTEN_PORT TARGET_PORT   (prints "ready" once listening)
"""

import asyncio
import signal
import sys

cut_wanted = False
cuts = 0


async def pipe(reader, writer, down, peers):
    global cut_wanted, cuts
    try:
        while data := await reader.read(65536):
            if down and cut_wanted:
                # The middle of the first log line in this read: past the chunked encoding's size
                # line ("2c\r\n"), halfway to the next newline. The reader's half line must not
                # survive the reconnect.
                first = data.find(b"\n")
                second = data.find(b"\n", first + 1)
                half = max(1, (first + 1 + (second if second > first else len(data))) // 2)
                writer.write(data[:half])
                await writer.drain()
                cut_wanted = False
                cuts += 1
                print(f"cut after {half} bytes of a {len(data)}-byte chunk", flush=True)
                for w in peers:
                    w.transport.abort()
                return
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def handle(client_r, client_w, target_port):
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_w.close()
        return
    peers = [client_w, server_w]
    await asyncio.gather(pipe(client_r, server_w, False, peers), pipe(server_r, client_w, True, peers))


def want_cut():
    global cut_wanted
    cut_wanted = True


async def main(listen_port, target_port):
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, want_cut)
    server = await asyncio.start_server(lambda r, w: handle(r, w, target_port), "127.0.0.1", listen_port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
