"""adjustTime over gRPC: request -> use case (once per idempotency key) -> response."""

from __future__ import annotations

from typing import Any

from mesh.idempotency import once
from mesh.requests import parse_id
from services.project.convert.responses import time_entry_to_proto
from services.project.handlers import ProjectRepository, Transact
from services.project.handlers.corrections import adjust_time, check_adjustment
from weftwork.project.v1 import project_service_pb2 as pb


class CorrectionApi:
    transact: Transact

    async def AdjustTime(
        self, request: pb.AdjustTimeRequest, context: Any
    ) -> pb.AdjustTimeResponse:
        entry_id = parse_id(request.id, "id")
        hours, reason = check_adjustment(request.hours, request.reason)

        async def work(r: ProjectRepository) -> pb.AdjustTimeResponse:
            done = await adjust_time(r, entry_id, hours, reason)
            answer = pb.AdjustTimeResponse(
                original=time_entry_to_proto(done.original), changed=done.reversal is not None
            )
            if done.reversal is not None and done.replacement is not None:
                answer.reversal.CopyFrom(time_entry_to_proto(done.reversal))
                answer.replacement.CopyFrom(time_entry_to_proto(done.replacement))
            return answer

        return await once(self.transact, request, pb.AdjustTimeResponse, work)
