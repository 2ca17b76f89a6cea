"""Training mechanics with no download: a tiny random causal LM and a tokenizer built here, LoRA on
the sample project's export; the loss falls, the adapter saves, loads back and generates."""

from __future__ import annotations

import json

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from typer.testing import CliRunner

from agent.finetune.examples import build_examples, template_text
from agent.finetune.export import export_examples
from agent.finetune.train import generate, load_adapter, load_export
from agent.finetune.workspace import stories_from_workspace
from agent.generation.template import load_template
from casewright.cli import app
from connectors.errors import CasewrightError
from connectors.workspace import SAMPLE_PATH, load_workspace

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def _tokenizer(texts: list[str]) -> PreTrainedTokenizerFast:
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=3000, special_tokens=["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", pad_token="<pad>",
                                  bos_token="<|im_start|>", eos_token="<|im_end|>")
    tok.chat_template = CHATML
    return tok


def _tiny_model(tok: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=8192,
                      pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return LlamaForCausalLM(cfg)


@pytest.mark.xdist_group("finetune_train")
def test_lora_steps_on_the_export(tmp_path):
    ws = load_workspace(SAMPLE_PATH)
    examples, _ = build_examples(stories_from_workspace(ws), template=template_text(load_template()))
    export = export_examples(examples, tmp_path / "data", validation_fraction=0.2)
    train, val, manifest = load_export(export.out_dir)
    assert train and val
    tok = _tokenizer([m["content"] for r in train + val for m in r["prompt"] + r["completion"]])
    model = _tiny_model(tok)
    base_dir = tmp_path / "base"
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)

    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["finetune", "train", "--base", str(base_dir), "--data", str(export.out_dir),
                                    "--out", str(out), "--steps", "12", "--lr", "5e-3", "--grad-accum", "1",
                                    "--lora-r", "8", "--max-length", "8192", "--merge"])
    assert done.exit_code == 0, done.output
    assert "12 steps on cpu" in " ".join(done.output.split())

    info = json.loads((out / "training.json").read_text())
    # the loss is on the answers only: few of the tokens, and they are the JSON cases
    m = info["metrics"]
    assert 0 < m["tokens_supervised"] < 0.5 * m["tokens_total"]
    assert m["first_supervised_text"].startswith('{"cases"')
    # it learns: training and validation loss fall
    assert info["steps"] == 12 and info["last_loss"] < info["first_loss"]
    assert info["eval_loss_after"] < info["eval_loss_before"]
    assert info["data_hash"] == manifest["data_hash"] and info["hyperparameters"]["lora_r"] == 8

    # the adapter, the merged model and the model card are saved
    adapter = out / "adapter"
    assert (adapter / "adapter_config.json").exists() and (adapter / "adapter_model.safetensors").exists()
    card = (out / "README.md").read_text()
    assert manifest["data_hash"] in card and "learning_rate" in card and "validation loss after" in card

    # the adapter loads back onto a fresh base and behaves like the merged model, not like the base
    fresh = LlamaForCausalLM.from_pretrained(base_dir)
    probe = tok("Verify that the payment extension is granted", return_tensors="pt")
    with torch.no_grad():
        base_logits = fresh(**probe).logits
    loaded = load_adapter(fresh, adapter).eval()
    merged = LlamaForCausalLM.from_pretrained(out / "merged").eval()
    with torch.no_grad():
        loaded_logits = loaded(**probe).logits
        merged_logits = merged(**probe).logits
    assert torch.allclose(loaded_logits, merged_logits, atol=1e-4)
    assert not torch.allclose(loaded_logits, base_logits, atol=1e-3)
    text = generate(loaded, tok, val[0]["prompt"], max_new_tokens=8)
    assert isinstance(text, str) and text.strip()


def test_train_refuses_a_missing_export(tmp_path):
    done = CliRunner().invoke(app, ["finetune", "train", "--base", str(tmp_path), "--data", str(tmp_path / "nothing"),
                                    "--out", str(tmp_path / "o")])
    assert isinstance(done.exception, CasewrightError)
    assert "finetune export" in str(done.exception)
