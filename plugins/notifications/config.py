"""Cấu hình của mô-đun theo từng tỉnh / The per-province configuration
(`ModuleInfo.config_model`): the sender, the SMTP server, the SMS provider, the templates and
the retry policy. A province sets it when it enables the module:

    mutation { enableModule(module: "notifications", config: {
      office: "Bộ phận Một cửa UBND tỉnh Quảng Ninh",
      email: {sender: "motcua@quangninh.gov.vn", smtp: {host: "smtp.quangninh.gov.vn"}},
      sms: {provider: "http",
            http: {url: "https://sms.example.vn/api/send", sender_id: "QUANGNINH"}}
    }) }

eiso checks it with this model before storing it (`INVALID_CONFIG` naming the field); the hook
reads it again at each event (`eiso.core.sdk.module_config`)."""

from __future__ import annotations

import string
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Kind(str, Enum):
    """The events an applicant is told of (GraphQL `NotificationsKind`)."""

    RECEIVED = "received"  # tiếp nhận hồ sơ (status 2)
    SUPPLEMENT_REQUESTED = "supplement_requested"  # yêu cầu bổ sung (status 5)
    APOLOGY = "apology"  # xin lỗi, hẹn lại ngày trả (slip 04 attached)
    RESULT_READY = "result_ready"  # đã có kết quả (status 9)


# The placeholders a template may use (string.Template: `$dossier_code` or `${dossier_code}`).
PLACEHOLDERS = frozenset({"addressee", "dossier_code", "procedure_code", "office", "date"})


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class SmtpSettings(_Settings):
    host: str = Field(title="Máy chủ SMTP", min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535, title="Cổng")
    username: str | None = Field(default=None, title="Tên đăng nhập SMTP")
    password: SecretStr | None = Field(default=None, title="Mật khẩu SMTP")
    # starttls: upgrade a plain connection (port 587); tls: implicit TLS (465); none: a relay
    # inside the agency's network only.
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        title="Bảo mật kết nối",
        description="starttls: cổng 587; tls: cổng 465; none: chỉ trong mạng nội bộ của cơ quan",
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=30, title="Thời gian chờ (giây)")


class EmailSettings(_Settings):
    sender: str = Field(pattern=EMAIL, max_length=254, title="Địa chỉ gửi")
    sender_name: str = Field(default="Bộ phận Một cửa", max_length=200, title="Tên người gửi")
    reply_to: str | None = Field(
        default=None, pattern=EMAIL, max_length=254, title="Địa chỉ nhận thư trả lời"
    )
    smtp: SmtpSettings = Field(title="Máy chủ gửi thư (SMTP)")


class HttpSmsSettings(_Settings):
    """A provider's HTTP JSON API: POST `url` with {"to", "text", "sender", "reference"}."""

    url: str = Field(pattern=r"^https?://\S+$", max_length=2000, title="Địa chỉ API gửi SMS")
    token: SecretStr | None = Field(
        default=None,
        title="Mã truy cập (token)",
        description="Gửi kèm tiêu đề Authorization: Bearer",
    )
    sender_id: str = Field(
        default="", max_length=11, title="Tên thương hiệu (brandname)"
    )  # the registered brandname
    timeout_seconds: float = Field(default=5.0, gt=0, le=30, title="Thời gian chờ (giây)")


class SmsSettings(_Settings):
    # log: development, nothing leaves the server (the log line carries no personal data).
    provider: Literal["log", "http", "off"] = Field(
        default="log",
        title="Nhà cung cấp SMS",
        description="log: chỉ ghi nhật ký (thử nghiệm); http: gửi qua API của nhà cung cấp; "
        "off: không gửi",
    )
    http: HttpSmsSettings | None = Field(default=None, title="API SMS của nhà cung cấp")
    # Brandname SMS in Vietnam is usually sent without diacritics (GSM 7-bit, 160 characters).
    ascii_only: bool = Field(default=True, title="Gửi SMS không dấu")

    @model_validator(mode="after")
    def _http(self) -> SmsSettings:
        if self.provider == "http" and self.http is None:
            raise ValueError("sms.http is required when sms.provider is http")
        return self


class Template(_Settings):
    """A province's wording of one event; a field left out keeps the default."""

    subject: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=5000)
    sms: str | None = Field(default=None, max_length=480)

    @field_validator("subject", "email", "sms")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return value
        template = string.Template(value)
        if not template.is_valid():
            raise ValueError("a lone $: write $$ for a dollar sign")
        unknown = set(template.get_identifiers()) - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"unknown placeholder {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(PLACEHOLDERS))}"
            )
        return value


class RetrySettings(_Settings):
    """Backoff: attempt n waits first_delay × 2^(n-1), at most max_delay, all attempts of one
    message within budget_seconds (the hook has 10 s for an event)."""

    attempts: int = Field(default=3, ge=1, le=6, title="Số lần thử")
    first_delay_seconds: float = Field(
        default=0.5, ge=0, le=5, title="Chờ trước lần thử lại đầu tiên (giây)"
    )
    max_delay_seconds: float = Field(default=4.0, ge=0, le=8, title="Thời gian chờ tối đa (giây)")
    budget_seconds: float = Field(
        default=8.0, gt=0, le=9, title="Tổng thời gian cho một thông báo (giây)"
    )


class NotificationsConfig(_Settings):
    """Cấu hình thông báo của tỉnh / A province's notification settings."""

    office: str = Field(
        default="Bộ phận Tiếp nhận và Trả kết quả",
        min_length=1,
        max_length=200,
        title="Tên bộ phận ký thông báo",
        description="Ký cuối mỗi thư và tin nhắn ($office)",
    )
    email: EmailSettings | None = Field(
        default=None, title="Thư điện tử", description="Để trống: không gửi thư điện tử"
    )
    sms: SmsSettings = Field(default=SmsSettings(), title="Tin nhắn SMS")
    events: tuple[Kind, ...] = Field(
        default=tuple(Kind),
        title="Sự kiện được thông báo",
        description="received: tiếp nhận; supplement_requested: yêu cầu bổ sung; "
        "apology: xin lỗi, hẹn lại; result_ready: đã có kết quả",
    )
    templates: dict[Kind, Template] = Field(default_factory=dict, title="Mẫu nội dung")
    retry: RetrySettings = Field(default=RetrySettings(), title="Gửi lại khi lỗi")
    lease_seconds: int = Field(
        default=600,
        ge=60,
        le=86_400,
        title="Thời hạn giữ một thông báo đang gửi (giây)",
        description="A message still SENDING this long after its claim (its worker died "
        "between the claim and the send) is claimed again and sent by the next event the "
        "module hears in the province: at most once per lease",
    )
