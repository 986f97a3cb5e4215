# Stage 3, train: one job per variant of `variants:` in config.yaml.


rule train:
    input:
        lambda w: plan.train_stack_file(w.dataset, w.variant),
    output:
        model="results/models/{dataset}/{variant}/model.pt",
        log_csv="results/models/{dataset}/{variant}/train.csv",
    log:
        "results/logs/train/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/train/{dataset}/{variant}.tsv"
    priority: lambda w: plan.train_priority(w.dataset, w.variant)
    conda:
        "../../envs/aifdepth.yaml"
    threads: 1
    resources:
        gpu=plan.rule_resource("train", "gpu"),
        mem_mb=plan.rule_resource("train", "mem_mb"),
        runtime=plan.rule_resource("train", "runtime"),
    params:
        settings=lambda w: plan.train_settings_json(w.dataset, w.variant),  # the whole object: any knob reruns
    shell:
        "aifdepth --threads {threads} train {input} --out {output.model} --log {output.log_csv} --settings {params.settings:q} > {log} 2>&1"


rule models:
    input:
        plan.model_files(),
