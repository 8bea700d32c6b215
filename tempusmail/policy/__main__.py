"""python -m tempusmail.policy --listen 127.0.0.1:10040 --redis redis://127.0.0.1:6379/0"""

import argparse
import asyncio
import logging
import os

from .server import serve


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tempusmail.policy",
        description="Postfix policy service enforcing daily sending limits.",
    )
    parser.add_argument("--listen", default="127.0.0.1:10040", help="HOST:PORT to listen on")
    parser.add_argument(
        "--redis",
        default=os.environ.get("POLICY_REDIS_URL")
        or os.environ.get("REDIS_URL")
        or "redis://127.0.0.1:6379/0",
        help="Redis URL holding the limits and counters (default: $POLICY_REDIS_URL, "
        "$REDIS_URL, redis://127.0.0.1:6379/0)",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    asyncio.run(serve(args.listen, args.redis))


if __name__ == "__main__":
    main()
