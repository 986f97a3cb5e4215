# aifdepth: AiFDepthNet (ICCV 2021) from raw data to focal stacks, models, tables and figures.
# `snakemake --cores 8 all` runs everything the default config declares.


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/render.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        plan.stack_files(),
        plan.evaluation_files(),
        plan.report_files(),
