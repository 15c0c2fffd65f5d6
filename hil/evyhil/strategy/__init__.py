from .flashstrategy import FlashStrategy, FlashStrategyError, Status

__all__ = ["FlashStrategy", "FlashStrategyError", "Status"]
