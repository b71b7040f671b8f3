def main() -> None:
    raise SystemExit("kith CLI not built yet")
