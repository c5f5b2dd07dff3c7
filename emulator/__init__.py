"""aliyun-emulator: a local, offline emulator of Alibaba Cloud IMM, OSS, MNS and DashScope."""

__version__ = "0.1.0"
