"""RFC 6962 test vectors (the Certificate Transparency reference tree), and proofs that fail when
anything is altered."""

from hypothesis import given
from hypothesis import strategies as st

from civicstack.card import merkle

DATA = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                    "606162636465666768696a6b6c6d6e6f"]]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


def test_roots_match_rfc_6962_for_every_size():
    for size in range(9):
        assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


def test_inclusion_proof_matches_the_reference():
    proof = merkle.inclusion_proof(LEAVES, 0)
    assert [p.hex() for p in proof] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


@given(size=st.integers(1, 70), data=st.data())
def test_every_proof_verifies_and_any_change_fails(size, data):
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
    index = data.draw(st.integers(0, size - 1))
    head = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, index)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, head)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"altered"), index, size, proof, head)
    if size > 1:
        assert not merkle.verify_inclusion(leaves[index], (index + 1) % size, size, proof, head)
    if proof:
        bent = [bytes(32), *proof[1:]]
        assert not merkle.verify_inclusion(leaves[index], index, size, bent, head)
