"""Settings of the battery and resource monitor ([power]) and of the budget it sets the responder."""

from evy import backends
from evy.config.schema import Setting, boolean, choice, integer, number, path
from evy.power.curves import CURVES

SOURCES = backends.names("power source")

SETTINGS = [
    Setting("power.source", choice(*SOURCES), "sysfs",
            "Battery monitor: `sysfs` (a fuel gauge with a kernel driver, /sys/class/power_supply), `ina219` "
            "(an INA219 on I2C), `sim` (simulated) or `none`. No battery found means unknown, which limits "
            "nothing."),
    Setting("power.sysfs_root", path, "/sys/class/power_supply", "Directory of the kernel's power supplies."),
    Setting("power.i2c_bus", integer(0, 255), 1, "I2C bus number of the INA219 (/dev/i2c-N; 1 on a Pi's header)."),
    Setting("power.i2c_address", integer(0x03, 0x77), 0x40, "I2C address of the INA219 (0x40–0x4F).",
            example=0x41),
    Setting("power.shunt_ohms", number(0.0001, 10), 0.1, "Resistance of the INA219's shunt resistor in ohms."),
    Setting("power.max_amps", number(0.001, 3200), 3.2,
            "Largest current expected through the shunt; sets the INA219's range and resolution."),
    Setting("power.battery_pin", choice("vin+", "vin-"), "vin+",
            "Which INA219 pin the battery is wired to (the load and charger are on the other)."),
    Setting("power.pack", choice(*CURVES), "lead-acid-12v",
            "Battery chemistry and cell count, for the voltage → charge estimate of the INA219 and simulator."),
    Setting("power.llm_min_battery", integer(0, 100), 30,
            "Below this battery percentage the local model is not used (knowledge-base follow-ups still are)."),
    Setting("power.templates_only_below", integer(0, 100), 20,
            "Below this battery percentage only the immediate protocol reply is sent, no follow-up."),
    Setting("power.llm_min_free_mb", integer(0, 65536), 300,
            "Below this much free memory (MB, MemAvailable) the local model is not used."),
    Setting("power.hysteresis_pct", integer(0, 20), 3,
            "Percentage points the battery must climb above a threshold before a limit lifts again."),
    Setting("power.sim_battery", integer(0, 100), 80, "Battery percentage of the simulated source (`sim`)."),
    Setting("power.sim_charging", boolean, False, "Whether the simulated battery is charging."),
]
