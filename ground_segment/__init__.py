"""Ground segment (CPython): station service, decoders, archive, QKD post-processing."""
