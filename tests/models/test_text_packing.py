"""An exported text encoder computes its token-wise layers on the real tokens only
(`packed_states`): exactly the transformer's states for the architectures it knows, and any other
encoder is simply not packed (its export runs the transformer as it is)."""
import pytest
import torch
from transformers import (BertConfig, BertModel, ElectraConfig, ElectraModel, MPNetConfig, MPNetModel,
                          RobertaConfig, RobertaModel)

from mlang.models.zoo.text_encoder import packable, packed_states

SMALL = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=64)


def batch_with_padding():
    torch.manual_seed(0)
    ids = torch.randint(5, 99, (3, 11))
    mask = torch.ones(3, 11, dtype=torch.long)
    mask[1, 6:] = 0
    mask[2, 2:] = 0
    return ids * mask + (1 - mask), mask  # padding positions hold the pad id 1


@pytest.mark.parametrize("make", [lambda: BertModel(BertConfig(**SMALL)),
                                  lambda: RobertaModel(RobertaConfig(**SMALL, pad_token_id=1))])
def test_packed_states_are_the_transformers_own_at_the_real_tokens(make):
    transformer = make().eval()
    assert packable(transformer)
    ids, mask = batch_with_padding()
    with torch.no_grad():
        full = transformer(input_ids=ids, attention_mask=mask).last_hidden_state
        packed = packed_states(transformer, ids, mask)
    real = mask.bool()
    assert torch.allclose(packed[real], full[real], atol=1e-5)
    assert torch.all(packed[~real] == 0)


@pytest.mark.parametrize("make", [lambda: MPNetModel(MPNetConfig(**SMALL)),
                                  lambda: ElectraModel(ElectraConfig(**SMALL, embedding_size=16))])
def test_other_encoders_are_not_packed(make):
    assert not packable(make())
