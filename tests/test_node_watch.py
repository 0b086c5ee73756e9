"""recipe.corpo.launch.node_watch: the error a run fails with when a node dies (the watch itself runs in tests/test_multinode.py)."""

from ray.core.generated.common_pb2 import NodeDeathInfo

from recipe.corpo.launch.node_watch import NodeDiedError


def test_the_error_names_the_node_rays_reason_and_the_way_back():
    node = {"NodeID": "45689572dc96960db5ca72ec208330717223edb0", "NodeManagerAddress": "10.0.0.2",
            "DeathReason": NodeDeathInfo.UNEXPECTED_TERMINATION,
            "DeathReasonMessage": "health check failed due to missing too many heartbeats"}
    message = str(NodeDiedError([node]))
    assert message.startswith("Ray node died during the run: 10.0.0.2 (node 45689572dc96, UNEXPECTED_TERMINATION: "
                              "health check failed due to missing too many heartbeats)")
    assert "scripts/ray_multinode.sh worker HEAD_IP" in message and "trainer.resume_mode=auto" in message
    unexplained = str(NodeDiedError([{**node, "DeathReason": NodeDeathInfo.EXPECTED_TERMINATION, "DeathReasonMessage": ""}]))
    assert "EXPECTED_TERMINATION: no reason given" in unexplained
