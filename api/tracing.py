"""OpenTelemetry traces to Cloud Trace, when ``LEDGER_OTEL_ENABLED`` is on.

FastAPI's native instrumentation makes one server span per request, a child of the
caller's trace: from ``traceparent`` (W3C) or, failing that, Google's
``X-Cloud-Trace-Context`` (what Cloud Run's front end sends; the propagator below reads
it). Spans go to Cloud Trace in batches, off the request path.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from api import __version__
from api.config import Settings
from api.observability import parse_trace

CLOUD_TRACE_HEADER = "x-cloud-trace-context"


class CloudTraceContextPropagator(TextMapPropagator):
    """``X-Cloud-Trace-Context``: read with the same parser as the log lines, so a span
    and its request's log line always name the same trace."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        values = getter.get(carrier, CLOUD_TRACE_HEADER)
        found = parse_trace({CLOUD_TRACE_HEADER: values[0]}) if values else None
        if found is None or found.span_id is None:
            return context if context is not None else Context()
        parent = SpanContext(
            trace_id=int(found.trace_id, 16),
            span_id=int(found.span_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED if found.sampled else TraceFlags.DEFAULT),
        )
        return trace.set_span_in_context(NonRecordingSpan(parent), context)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        span = trace.get_current_span(context).get_span_context()
        if span.is_valid:
            value = f"{span.trace_id:032x}/{span.span_id};o={int(span.trace_flags.sampled)}"
            setter.set(carrier, CLOUD_TRACE_HEADER, value)

    @property
    def fields(self) -> set[str]:
        return {CLOUD_TRACE_HEADER}


def install_propagator() -> None:
    """Read both headers; the W3C one wins when a request carries both (it is extracted
    last). Process-wide, as OpenTelemetry's propagator is; the same every time."""
    propagate.set_global_textmap(
        CompositePropagator([CloudTraceContextPropagator(), TraceContextTextMapPropagator()])
    )


def build_tracer_provider(
    settings: Settings, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Spans of this service, sampled as the caller decided (Cloud Run's front end
    marks the requests it traces) or, for a request without a parent, at
    ``LEDGER_OTEL_SAMPLE_RATIO``; exported in batches, to Cloud Trace by default."""
    resource = Resource.create(
        {"service.name": settings.k_service or "spanner-ledger", "service.version": __version__}
    )
    sampler = ParentBased(root=TraceIdRatioBased(settings.otel_sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter or _cloud_trace(settings)))
    return provider


def _cloud_trace(settings: Settings) -> SpanExporter:
    # Imported here: only a process that traces pays for the Cloud Trace client.
    from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter  # noqa: PLC0415

    exporter: SpanExporter = CloudTraceSpanExporter(project_id=settings.project)
    return exporter


def configure(settings: Settings, provider: TracerProvider | None) -> TracerProvider:
    """The provider the app traces with: ``provider`` (tests), or a Cloud Trace one, also
    installed globally so the Spanner client's own spans (it uses the global provider)
    join the request's trace."""
    install_propagator()
    if provider is not None:
        return provider
    provider = build_tracer_provider(settings)
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    return provider
