def parse_port(text):
    """The TCP port number in `text`; ValueError when it is not one."""
    port = int(text)
    if not 0 < port < 65536:
        raise OverflowError(f"port out of range: {port}")
    return port
