# Stage 3, train: one job per variant of `variants:` in config.yaml.


rule train:
    input:
        lambda w: train_stack_file(w.dataset, w.variant),
    output:
        model="results/models/{dataset}/{variant}/model.pt",
        log_csv="results/models/{dataset}/{variant}/train.csv",
    log:
        "results/logs/train/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{variant}.tsv"
    conda:
        "../../envs/aifdepth.yaml"
    threads: 1
    resources:
        gpu=rule_resource("train", "gpu"),
        mem_mb=rule_resource("train", "mem_mb"),
        runtime=rule_resource("train", "runtime"),
    params:
        args=lambda w: train_arguments(w.dataset, w.variant),
    shell:
        "aifdepth --threads {threads} train {input} --out {output.model} --log {output.log_csv} {params.args} > {log} 2>&1"


rule models:
    input:
        model_files(),
