# Stage 4, evaluate: every variant on each of its test stacks (metrics, runtime, predictions),
# one job per variant, so its model loads once; each output file is a target of its own.


for _dataset, _variant in plan.evaluated_variants():
    _job = plan.evaluation_job(_dataset, _variant)

    rule:
        name:
            _job["name"]
        input:
            model=_job["model"],
            stacks=_job["stacks"],
        output:
            metrics=_job["metrics"],
            predictions=_job["predictions"],
        log:
            _job["log"],
        benchmark:
            _job["benchmark"]
        conda:
            "../../envs/aifdepth.yaml"
        threads: 1
        resources:
            gpu=plan.rule_resource("evaluate", "gpu"),
            mem_mb=plan.rule_resource("evaluate", "mem_mb"),
            runtime=plan.rule_resource("evaluate", "runtime"),
        params:
            timing=_job["timing"],  # the runtimes tables show: timed again with the machine to itself
        shell:
            "aifdepth --threads {threads} evaluate --model {input.model} --stacks {input.stacks} "
            "--out {output.metrics} --predictions {output.predictions} {params.timing} > {log} 2>&1"


rule evaluations:
    input:
        plan.evaluation_files(),
