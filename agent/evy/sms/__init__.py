"""SMS: the GSM 03.38 / 03.40 codec, the modem transports and the shared message values."""
