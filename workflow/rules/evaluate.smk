# Stage 4, evaluate: every variant on each of its test stacks (metrics, runtime, predictions).


rule evaluate:
    input:
        model=lambda w: plan.model_file(w.dataset, w.variant),
        stacks="results/stacks/{dataset}/{testset}.h5",
    output:
        metrics="results/eval/{dataset}/{variant}/{testset}.json",
        predictions="results/eval/{dataset}/{variant}/{testset}.h5",
    log:
        "results/logs/evaluate/{dataset}/{variant}/{testset}.log",
    benchmark:
        "results/benchmarks/evaluate/{dataset}/{variant}/{testset}.tsv"
    conda:
        "../../envs/aifdepth.yaml"
    threads: 1
    resources:
        gpu=plan.rule_resource("evaluate", "gpu"),
        mem_mb=plan.rule_resource("evaluate", "mem_mb"),
        runtime=plan.rule_resource("evaluate", "runtime"),
    shell:
        "aifdepth --threads {threads} evaluate --model {input.model} --stacks {input.stacks} "
        "--out {output.metrics} --predictions {output.predictions} > {log} 2>&1"


rule evaluations:
    input:
        plan.evaluation_files(),
