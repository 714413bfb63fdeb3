"""The model QMS that eiso ships as data: the documents a local state administrative agency
starts from, after the model frame of Decision 101/QĐ-BKHCN (21/01/2019) of the Ministry of
Science and Technology for TCVN ISO 9001:2015 (docs/qms.md cites what was found; what could not
be checked against the decision's text is listed in core/qms/README.md).

The wording is eiso's own (not the decision's annex, which was not available): a starting text
each agency adapts before its leader approves it. `{agency}` is replaced by the adopting
agency's name. A province changes this set without touching code: `installModelQms` copies it
into the province's model documents (core/qms/documents.py), which the province edits and makes
effective through the usual workflow; an adoption then takes the province's effective text.
"""

from __future__ import annotations

import dataclasses

SOURCE = (
    "Quyết định số 101/QĐ-BKHCN ngày 21/01/2019 của Bộ Khoa học và Công nghệ công bố Mô hình "
    "khung Hệ thống quản lý chất lượng theo Tiêu chuẩn quốc gia TCVN ISO 9001:2015 cho các "
    "loại hình cơ quan hành chính nhà nước tại địa phương"
)
STANDARD = "TCVN ISO 9001:2015"


@dataclasses.dataclass(frozen=True)
class Template:
    code: str
    kind: str  # a DocumentKind value
    title: str
    clauses: str  # the TCVN ISO 9001:2015 clauses it answers
    content: str


def _procedure(purpose: str, scope: str, steps: list[tuple[str, str, str]], records: str) -> str:
    """The body of an internal procedure: purpose, scope, references, steps, records."""
    lines = [
        f"1. MỤC ĐÍCH\n{purpose}",
        f"2. PHẠM VI\n{scope}",
        f"3. TÀI LIỆU VIỆN DẪN\n- Tiêu chuẩn quốc gia {STANDARD};\n"
        "- Quyết định số 19/2014/QĐ-TTg ngày 05/3/2014 của Thủ tướng Chính phủ;\n"
        f"- {SOURCE}.",
        "4. NỘI DUNG",
    ]
    for number, (who, what, when) in enumerate(steps, start=1):
        lines.append(f"Bước {number}. {what}\n   Trách nhiệm: {who}. Thời gian: {when}.")
    lines.append(f"5. HỒ SƠ\n{records}")
    return "\n\n".join(lines)


TEMPLATES: tuple[Template, ...] = (
    Template(
        "CSCL",
        "policy",
        "Chính sách chất lượng",
        "5.2",
        "CHÍNH SÁCH CHẤT LƯỢNG CỦA {agency}\n\n"
        "{agency} cam kết xây dựng, áp dụng, duy trì và cải tiến Hệ thống quản lý chất lượng "
        f"phù hợp Tiêu chuẩn quốc gia {STANDARD} nhằm giải quyết thủ tục hành chính cho tổ "
        "chức, cá nhân công khai, minh bạch, đúng pháp luật và đúng hẹn.\n\n"
        "- Lấy sự hài lòng của người dân, doanh nghiệp làm thước đo chất lượng phục vụ;\n"
        "- Cán bộ, công chức thành thạo chuyên môn, tận tụy, văn minh, lịch sự;\n"
        "- Thường xuyên rà soát, cải tiến quy trình, ứng dụng công nghệ thông tin.\n\n"
        "Chính sách được phổ biến đến toàn thể cán bộ, công chức và xem xét định kỳ tại cuộc "
        "họp xem xét của lãnh đạo.",
    ),
    Template(
        "MTCL",
        "objectives",
        "Mục tiêu chất lượng năm",
        "6.2",
        "MỤC TIÊU CHẤT LƯỢNG CỦA {agency}\n\n"
        "1. 100% hồ sơ thủ tục hành chính được tiếp nhận và giải quyết theo quy trình đã ban "
        "hành.\n"
        "2. Tối thiểu 98% hồ sơ được giải quyết đúng hoặc trước hạn; hồ sơ trễ hạn có văn bản "
        "xin lỗi và hẹn lại.\n"
        "3. Tối thiểu 90% người dân, tổ chức được khảo sát hài lòng với việc giải quyết thủ tục "
        "hành chính.\n"
        "4. 100% phản ánh, kiến nghị được xử lý trong thời hạn.\n\n"
        "Kế hoạch thực hiện: mỗi mục tiêu có đơn vị chủ trì, nguồn lực, thời hạn và cách đánh "
        "giá kết quả (số liệu hồ sơ trên hệ thống eiso), được theo dõi hằng quý.",
    ),
    Template(
        "QT-BC",
        "procedure",
        "Quy trình xác định bối cảnh, rủi ro và cơ hội",
        "4.1, 4.2, 6.1",
        _procedure(
            "Xác định các vấn đề bên trong, bên ngoài, nhu cầu và mong đợi của các bên quan tâm, "
            "các rủi ro và cơ hội ảnh hưởng đến kết quả giải quyết thủ tục hành chính của "
            "{agency}, và hành động giải quyết chúng.",
            "Áp dụng cho các hoạt động thuộc phạm vi Hệ thống quản lý chất lượng của {agency}.",
            [
                (
                    "Thư ký ISO, các bộ phận",
                    "Nhận diện bối cảnh và các bên quan tâm",
                    "hằng năm",
                ),
                (
                    "Các bộ phận",
                    "Nhận diện rủi ro, cơ hội; đánh giá khả năng xảy ra và mức độ ảnh hưởng (1-5)",
                    "hằng năm và khi có thay đổi",
                ),
                (
                    "Lãnh đạo",
                    "Phê duyệt biện pháp xử lý rủi ro, người chịu trách nhiệm, thời hạn",
                    "05 ngày làm việc",
                ),
                ("Thư ký ISO", "Theo dõi, xem xét lại sổ rủi ro", "hằng quý"),
            ],
            "Sổ đăng ký rủi ro và cơ hội; biên bản xem xét bối cảnh.",
        ),
    ),
    Template(
        "QT-TL",
        "procedure",
        "Quy trình kiểm soát thông tin dạng văn bản",
        "7.5",
        _procedure(
            "Thống nhất cách soạn thảo, phê duyệt, ban hành, sửa đổi, phân phối và lưu trữ tài "
            "liệu, hồ sơ của Hệ thống quản lý chất lượng của {agency}.",
            "Áp dụng cho mọi tài liệu nội bộ, tài liệu bên ngoài và hồ sơ của Hệ thống quản lý "
            "chất lượng.",
            [
                (
                    "Bộ phận soạn thảo",
                    "Soạn thảo hoặc sửa đổi tài liệu (bản dự thảo)",
                    "theo yêu cầu",
                ),
                ("Thư ký ISO", "Xem xét sự phù hợp, trình lãnh đạo", "03 ngày làm việc"),
                ("Lãnh đạo", "Phê duyệt hoặc trả lại để sửa", "03 ngày làm việc"),
                (
                    "Thư ký ISO",
                    "Ban hành, thông báo hiệu lực; thu hồi bản lỗi thời; cán bộ xác nhận đã đọc",
                    "01 ngày làm việc",
                ),
                ("Các bộ phận", "Lưu trữ hồ sơ theo thời hạn quy định", "thường xuyên"),
            ],
            "Danh mục tài liệu nội bộ; danh mục tài liệu bên ngoài; các phiên bản tài liệu và "
            "lịch sử phê duyệt trên eiso.",
        ),
    ),
    Template(
        "QT-DGNB",
        "procedure",
        "Quy trình đánh giá nội bộ",
        "9.2",
        _procedure(
            "Đánh giá định kỳ sự phù hợp và hiệu lực của Hệ thống quản lý chất lượng của {agency}.",
            "Áp dụng cho mọi quá trình, bộ phận thuộc phạm vi Hệ thống quản lý chất lượng.",
            [
                ("Thư ký ISO", "Lập chương trình đánh giá nội bộ năm", "quý I hằng năm"),
                ("Lãnh đạo", "Phê duyệt chương trình, cử chuyên gia đánh giá", "05 ngày làm việc"),
                (
                    "Chuyên gia đánh giá",
                    "Lập kế hoạch, danh mục câu hỏi theo điều khoản; tiến hành đánh giá",
                    "theo kế hoạch",
                ),
                (
                    "Chuyên gia đánh giá",
                    "Ghi nhận phát hiện; điểm không phù hợp được mở theo quy trình QT-KPH",
                    "03 ngày làm việc sau đánh giá",
                ),
                ("Thư ký ISO", "Báo cáo kết quả cho lãnh đạo", "05 ngày làm việc"),
            ],
            "Chương trình, kế hoạch, danh mục câu hỏi, báo cáo đánh giá nội bộ.",
        ),
    ),
    Template(
        "QT-KPH",
        "procedure",
        "Quy trình kiểm soát sự không phù hợp và hành động khắc phục",
        "8.7, 10.2",
        _procedure(
            "Kiểm soát đầu ra không phù hợp (hồ sơ trễ hạn, sai sót) và thực hiện hành động "
            "khắc phục loại bỏ nguyên nhân để không tái diễn tại {agency}.",
            "Áp dụng cho sự không phù hợp phát hiện qua giải quyết hồ sơ, đánh giá nội bộ, phản "
            "ánh kiến nghị và kiểm tra.",
            [
                ("Người phát hiện", "Ghi nhận sự không phù hợp", "ngay khi phát hiện"),
                (
                    "Bộ phận liên quan",
                    "Xử lý tức thời; tìm nguyên nhân gốc; đề xuất hành động khắc phục",
                    "05 ngày làm việc",
                ),
                (
                    "Lãnh đạo",
                    "Phê duyệt hành động khắc phục, người thực hiện, thời hạn",
                    "02 ngày làm việc",
                ),
                ("Bộ phận liên quan", "Thực hiện hành động khắc phục", "theo thời hạn được duyệt"),
                ("Thư ký ISO", "Kiểm tra hiệu lực và đóng", "sau khi hoàn thành"),
            ],
            "Phiếu theo dõi sự không phù hợp và hành động khắc phục (sổ trên eiso).",
        ),
    ),
    Template(
        "QT-XXLD",
        "procedure",
        "Quy trình xem xét của lãnh đạo",
        "9.3",
        _procedure(
            "Lãnh đạo {agency} xem xét định kỳ Hệ thống quản lý chất lượng để bảo đảm sự phù "
            "hợp, thỏa đáng, hiệu lực và định hướng cải tiến.",
            "Áp dụng cho Hệ thống quản lý chất lượng của {agency}.",
            [
                (
                    "Thư ký ISO",
                    "Tổng hợp đầu vào: số liệu giải quyết hồ sơ, mục tiêu, kết quả đánh giá, phản "
                    "ánh kiến nghị, sự không phù hợp, rủi ro",
                    "10 ngày làm việc trước cuộc họp",
                ),
                ("Lãnh đạo", "Chủ trì cuộc họp xem xét", "ít nhất mỗi năm một lần"),
                ("Thư ký ISO", "Lập biên bản, giao việc cải tiến", "03 ngày làm việc"),
                ("Các bộ phận", "Thực hiện và báo cáo kết quả", "theo thời hạn được giao"),
            ],
            "Biên bản họp xem xét của lãnh đạo; danh mục hành động sau xem xét.",
        ),
    ),
)


def template(code: str) -> Template | None:
    return next((t for t in TEMPLATES if t.code == code), None)
