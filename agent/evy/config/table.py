"""The one settings table: every setting of the agent, gathered from the concern that owns it.

Parsing, defaults, validation, `evy config show|check` and docs/config.md are all derived from it.
"""

from evy.broadcast import settings as broadcast
from evy.cases import settings as cases
from evy.config import core
from evy.config.schema import Setting, SettingsTable
from evy.console import settings as console
from evy.downlink import settings as downlink
from evy.errors import ConfigError
from evy.fleet import settings as fleet
from evy.health import settings as health
from evy.llm import settings as llm
from evy.mesh import settings as mesh
from evy.meshtastic import settings as meshtastic
from evy.offload import settings as offload
from evy.power import settings as power
from evy.responder import settings as responder
from evy.sms import settings as sms

SETTINGS: tuple[Setting, ...] = (*core.SETTINGS, *sms.SETTINGS, *llm.SETTINGS, *mesh.SETTINGS,
                                 *responder.SETTINGS, *power.SETTINGS, *cases.SETTINGS,
                                 *broadcast.SETTINGS, *health.SETTINGS, *console.SETTINGS,
                                 *meshtastic.SETTINGS, *fleet.SETTINGS, *downlink.SETTINGS, *offload.SETTINGS)

TABLE = SettingsTable(SETTINGS, ConfigError)
