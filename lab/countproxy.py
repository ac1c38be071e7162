"""A counting TCP proxy: forwards LISTEN_PORT to TARGET_PORT on 127.0.0.1 and keeps, in
STATS_FILE (rewritten every second as JSON), how many HTTP requests went through and how many
bytes each way, and requests per path. Used by lab/figures.sh to measure what a tool asks of the dashboard."""

import asyncio
import json
import re
import sys
import time

REQUEST_LINE = re.compile(rb"(?:^|\r\n)(?:GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
stats = {"requests": 0, "bytes_up": 0, "bytes_down": 0, "connections": 0, "since": time.time(), "paths": {}}


async def pipe(reader, writer, up):
    tail = b""
    try:
        while data := await reader.read(65536):
            if up:
                stats["bytes_up"] += len(data)
                # Keep a short tail so a request line split across reads still counts once.
                window = tail + data
                seen = REQUEST_LINE.findall(window)
                new = seen[len(REQUEST_LINE.findall(tail)) :]
                stats["requests"] += len(new)
                for target in new:
                    # Requests per path, without the query (one line per endpoint).
                    path = target.split(b"?")[0].decode(errors="replace")
                    stats["paths"][path] = stats["paths"].get(path, 0) + 1
                tail = window[-256:]
            else:
                stats["bytes_down"] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def handle(client_r, client_w, target_port):
    stats["connections"] += 1
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))


async def main(listen_port, target_port, stats_file):
    server = await asyncio.start_server(lambda r, w: handle(r, w, target_port), "127.0.0.1", listen_port)
    async with server:
        while True:
            with open(stats_file + ".tmp", "w") as f:
                json.dump(stats, f)
            import os

            os.replace(stats_file + ".tmp", stats_file)
            await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
