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


# The authors' released checkpoints: a variant with `model: {official: <name>}` evaluates the
# checkpoint `checkpoints.files.<name>`, imported once into an aifdepth model file.


rule import_official:
    input:
        lambda w: plan.checkpoint_input(w.checkpoint),
    output:
        "results/checkpoints/{checkpoint}/model.pt",
    log:
        "results/logs/import_official/{checkpoint}.log",
    conda:
        "../../envs/aifdepth.yaml"
    params:
        member=lambda w: plan.checkpoint_member_option(w.checkpoint),
    shell:
        "aifdepth import-official {input:q} {params.member} --out {output} > {log} 2>&1"


rule download_checkpoints:
    output:
        CHECKPOINT_ARCHIVE,
    log:
        "results/logs/download/checkpoints.log",
    localrule: True  # cluster nodes often have no internet; the login node does the fetching
    conda:
        "../../envs/aifdepth.yaml"
    params:
        mirror=plan.checkpoint_mirror_option(),
        checksums=CHECKSUMS,
    shell:
        "aifdepth download-checkpoints --out {output} --checksums {params.checksums} {params.mirror} > {log} 2>&1"
