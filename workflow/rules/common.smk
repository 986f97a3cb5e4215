# The validated config and the getters the rules call; the logic lives in aifdepth.workflow,
# where every function has a unit test.

from aifdepth.report.contents import FIGURES, TABLES
from aifdepth.workflow import CHECKPOINT_ARCHIVE, CHECKSUMS, FIRST_PRIORITY, Plan

plan = Plan.load(config, workflow.basedir, workflow.overwrite_configfiles)
for note in plan.notes:
    logger.info(f"aifdepth: {note}")


wildcard_constraints:
    dataset="|".join(plan.datasets),
