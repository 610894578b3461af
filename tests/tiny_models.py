"""Small randomly initialised BERT, RoBERTa and GPT-2 models saved as ``save_pretrained``
writes them, with tokenizers trained here: models to hold the numpy networks to
transformers without downloading anything. The bench builds full-size ones the same way."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "The cat sat on the mat, and the dog sat by the door.",
    "A river bank is not a bank that lends money; the bank raised its rates again.",
    "Attention lets every token look at every other token in the sentence.",
    "Transformers stack layers of attention heads and feed-forward networks.",
    "She sells sea shells by the sea shore, unbelievably quickly!",
    "Numbers like 42 and 3.14 appear too, with punctuation: commas, dots; and dashes -",
    "The quick brown fox jumps over the lazy dog while the old red car drives by.",
] * 4

KINDS = ("bert", "roberta", "gpt2")


def tokenizer(kind: str, vocab_size: int):
    """A fast tokenizer trained on ``CORPUS``: WordPiece for BERT, byte-level BPE for the
    others, with the special tokens and post-processing of the real ones."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    if kind == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        tok.train_from_iterator(
            CORPUS, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials)
        )
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
        )
        names = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")
        return PreTrainedTokenizerFast(tokenizer_object=tok, mask_token="[MASK]", **names)
    roberta = kind == "roberta"
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if roberta else ["<|endoftext|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer)
    if roberta:
        tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
        names = dict(bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, cls_token="<s>", sep_token="</s>", **names
        )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    end = "<|endoftext|>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=end, eos_token=end)


def network(
    kind: str, vocab: int, *, layers: int, heads: int, width: int, positions: int, init: float
):
    """A randomly initialised transformers model (BERT with its masked-LM head, so its
    weights carry the ``bert.`` prefix; a bare RoBERTa; GPT-2 with its tied LM head)."""
    import transformers as tf

    shape = dict(vocab_size=vocab, initializer_range=init)
    if kind == "gpt2":
        config = tf.GPT2Config(
            n_positions=positions,
            n_embd=width,
            n_layer=layers,
            n_head=heads,
            bos_token_id=0,
            eos_token_id=0,
            **shape,
        )
        return tf.GPT2LMHeadModel(config)
    body = dict(
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * width,
        **shape,
    )
    if kind == "bert":
        return tf.BertForMaskedLM(tf.BertConfig(max_position_embeddings=positions, **body))
    config = tf.RobertaConfig(
        max_position_embeddings=positions + 2, pad_token_id=1, type_vocab_size=1, **body
    )
    return tf.RobertaModel(config, add_pooling_layer=False)


def build(
    kind: str,
    folder: Path,
    *,
    layers: int = 2,
    heads: int = 4,
    width: int = 32,
    positions: int = 64,
    vocab_size: int = 400,
    table_rows: int | None = None,
    init: float = 0.2,
    safe: bool = True,
    seed: int = 0,
) -> Path:
    """Save a random ``kind`` model and its tokenizer into ``folder``; return ``folder``.

    Weights are drawn with standard deviation ``init`` (0.2: wide enough that heads
    attend unevenly), then every parameter (LayerNorms included) is nudged by a quarter
    of it, so a weight read in the wrong place shows. ``safe=False`` writes
    ``pytorch_model.bin`` instead of ``model.safetensors``. ``table_rows`` sizes the
    embedding table beyond the tokenizer's vocabulary (the real models' 30522 or 50257).
    """
    import torch

    hf_tokenizer = tokenizer(kind, vocab_size)
    torch.manual_seed(seed)
    rows = max(table_rows or 0, len(hf_tokenizer))
    shape = dict(layers=layers, heads=heads, width=width, positions=positions, init=init)
    model = network(kind, rows, **shape)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(init / 4 * torch.randn_like(p))
    model.eval()
    model.save_pretrained(folder)
    if not safe:  # the older format, pickled by torch (transformers 5 writes safetensors only)
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    hf_tokenizer.save_pretrained(folder)
    return folder
