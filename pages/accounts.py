"""账号与审计 (admin only): users, their roles and shops, sign-in links and API tokens; the audit log."""

import datetime as dt

import streamlit as st

from insight import accounts
from insight.core.access import ROLE_LABELS, ROLES
from insight.core.errors import InsightError
from insight.present.formatting import markdown_text as md
from insight.present.formatting import readable_detail
from insight.ui import auth, data, widgets
from insight.ui.boot import require_navigation

require_navigation()
st.title("账号与审计")
viewer = auth.run_viewer()
if not viewer.is_admin:
    auth.refuse("账号与审计仅管理员可用")
st.caption("主账号（管理员）管理子账号：主管看授权的店铺，客服只看本人的数据；买家手机号、地址、证件号默认打码，"
           "可按账号授权查看。所有登录、导入、导出、更正和账号变更都记入审计日志。")


FAILED = object()


def _call(fn, *args, **kwargs):
    """An accounts change by this admin on the shared store: its result, or FAILED with the error shown."""
    try:
        return auth.with_accounts(fn, *args, by=viewer.name, **kwargs)
    except InsightError as exc:
        st.error(md(str(exc)))
        return FAILED


rd = data.reader()
shops = data.shops(data.store_path(), rd.version) if rd else None
shop_ids = list(shops["shop_id"]) if shops is not None else []
labels = dict(zip(shops["shop_id"], shops["shop_name"].fillna(shops["shop_id"]))) if shops is not None else {}

st.subheader("账号")
if done := st.session_state.pop("_accounts_done", None):  # said after the rerun that shows the new row
    st.success(done, icon=":material/check_circle:")
users = auth.with_accounts(accounts.list_users)
if users.empty:
    widgets.empty_state("还没有账号：现在只有本机可以访问。", "先创建一个管理员账号，再用它登录或生成一次性登录链接。")
else:
    shown = users.rename(columns={"name": "用户名", "role": "角色", "shops": "授权店铺", "agent_id": "客服账号",
                                  "pii": "可看买家信息", "can_import": "可导入", "created_at": "创建时间 (UTC)",
                                  "tokens": "有效 API 令牌"})
    shown["角色"] = shown["角色"].map(ROLE_LABELS)
    widgets.table(shown, "账号", key="users_table")

with st.expander("新增账号", expanded=users.empty, icon=":material/person_add:"):
    with st.form("add_user", clear_on_submit=True):
        name = st.text_input("用户名", help="字母、数字、汉字或 _ . @ -，最长 64 个字符")
        role = st.radio("角色", ROLES, format_func=ROLE_LABELS.get, horizontal=True)
        granted = st.multiselect("授权店铺（主管）", shop_ids, format_func=lambda s: f"{labels.get(s, s)}（{s}）",
                                 placeholder="选择店铺")
        agent = st.text_input("客服账号（客服）", help="agents 表中的 agent_id，如 S001-A01；客服只能看到本人的数据")
        pii = st.checkbox("可查看买家手机号、地址、证件号（默认打码）")
        can_import = st.checkbox("可导入授权店铺的数据（主管：数据管理页，其他店铺的行会被拒绝）")
        password = st.text_input("初始密码", type="password", help=f"至少 {accounts.MIN_PASSWORD} 个字符；登录后可自行修改")
        submitted = st.form_submit_button("创建账号", type="primary")
    if submitted and users.empty and role != "admin":
        # the machine's own access ends with the first account: without an admin nobody could manage accounts
        st.error("第一个账号须为管理员：创建后本机不再自动视为管理员，需要用它登录来管理其他账号。")
    elif submitted:
        made = _call(accounts.add_user, name.strip(), role, password, shops=granted,
                     agent_id=agent.strip() or None, pii=pii, can_import=can_import)
        if made is not FAILED and users.empty:
            # From the next click on, this machine must sign in: hand it the way in now, not "未登录".
            link = _call(accounts.issue_login_link, made.name)
            st.success(f"已创建第一个管理员 {md(made.name)}。从现在起打开应用需要登录：点下面的按钮以 "
                       f"{md(made.name)} 登录（15 分钟内有效，只能使用一次），或在登录页输入用户名和密码。")
            if link is not FAILED:
                st.link_button(f"以 {md(made.name)} 登录", f"/auth/link?token={link}", type="primary",
                               icon=":material/login:")
            st.stop()
        if made is not FAILED:
            st.session_state["_accounts_done"] = f"已创建 {made.name}（{ROLE_LABELS[made.role]}）"
            st.rerun()

if not users.empty:
    st.markdown("#### 管理一个账号")
    who = st.selectbox("账号", list(users["name"]), key="manage_user")
    row = users.set_index("name").loc[who]
    cols = st.columns(4)
    if cols[0].button("生成一次性登录链接", icon=":material/link:", help="15 分钟内有效，只能使用一次"):
        token = _call(accounts.issue_login_link, who)
        if token is not FAILED:
            base = (st.context.url or "").split("/", 3)
            origin = "/".join(base[:3]) if len(base) >= 3 else ""
            st.code(f"{origin}/auth/link?token={token}", language=None)
            st.caption("把链接发给对方：15 分钟内有效，只能使用一次。")
    if cols[1].button("生成 API 令牌", icon=":material/key:", help="用于 BI 工具：Authorization: Bearer 令牌"):
        token = _call(accounts.issue_token, who)
        if token is not FAILED:  # shown after the rerun that counts it in the table above
            st.session_state["_accounts_token"] = (who, token)
            st.rerun()
    if cols[2].button("撤销全部 API 令牌", icon=":material/key_off:"):
        n = _call(accounts.revoke_tokens, who)
        if n is not FAILED:
            st.session_state["_accounts_done"] = f"已撤销 {who} 的 {n} 个令牌"
            st.rerun()
    if (shown := st.session_state.pop("_accounts_token", None)) and shown[0] == who:
        st.success(f"已为 {md(who)} 生成 API 令牌：", icon=":material/key:")
        st.code(shown[1], language=None)
        st.caption("令牌只显示这一次，请妥善保存；用法见 docs/api.md。")
    with cols[3].popover("删除账号", icon=":material/delete:"):
        st.write(f"删除 {md(who)}？其令牌和登录链接一并失效。")
        if st.button("确认删除", type="primary", key="confirm_remove"):
            if _call(accounts.remove_user, who) is not FAILED:
                st.rerun()
    with st.form("update_user"):
        st.markdown(f"**修改 {md(who)} 的权限**")
        new_role = st.radio("角色", ROLES, index=ROLES.index(row["role"]), format_func=ROLE_LABELS.get,
                            horizontal=True, key="upd_role")
        current = str(row["shops"]).split(",") if isinstance(row["shops"], str) and row["shops"] != "全部" else []
        new_shops = st.multiselect("授权店铺（主管）", shop_ids, default=[s for s in current if s in shop_ids],
                                   format_func=lambda s: f"{labels.get(s, s)}（{s}）", key="upd_shops",
                                   placeholder="选择店铺")
        new_agent = st.text_input("客服账号（客服）", value=row["agent_id"] if isinstance(row["agent_id"], str) else "",
                                  key="upd_agent")
        new_pii = st.checkbox("可查看买家手机号、地址、证件号", value=bool(row["pii"]), key="upd_pii")
        new_import = st.checkbox("可导入授权店铺的数据（主管）", value=bool(row["can_import"]), key="upd_import")
        new_password = st.text_input("重置密码（留空不改）", type="password", key="upd_password")
        if st.form_submit_button("保存修改"):
            done = _call(accounts.update_user, who, role=new_role, shops=new_shops,
                         agent_id=new_agent.strip() or None, pii=new_pii, can_import=new_import) is not FAILED
            if done and new_password:
                done = _call(accounts.set_password, who, new_password) is not FAILED
            if done:
                st.success("已保存；该账号已登录的会话需要重新登录")
                st.rerun()

st.subheader("审计日志")
cols = st.columns(3)
user_filter = cols[0].selectbox("账号", ["全部"] + list(users["name"]) if not users.empty else ["全部"])
action_filter = cols[1].selectbox("操作", ["全部"] + list(accounts.ACTION_LABELS),
                                  format_func=lambda a: accounts.ACTION_LABELS.get(a, a))
days = cols[2].selectbox("时间", [1, 7, 30, 365], index=1, format_func=lambda d: f"最近 {d} 天")
log = auth.with_accounts(accounts.audit_rows, user=None if user_filter == "全部" else user_filter,
                         action=None if action_filter == "全部" else action_filter,
                         since=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=days))
if log.empty:
    widgets.empty_state("这段时间没有记录。", "换一个时间范围或账号；登录、导入、导出、更正和账号变更都会记在这里。")
else:
    log = log.assign(action=log["action"].map(lambda a: accounts.ACTION_LABELS.get(a, a)),
                     ok=log["ok"].map({True: "成功", False: "失败"}),
                     logged_at=log["logged_at"].dt.strftime("%Y-%m-%d %H:%M:%S"),  # (stored to the microsecond)
                     detail=log["detail"].map(readable_detail))
    widgets.table(log.rename(columns={"logged_at": "时间 (UTC)", "user_name": "账号", "action": "操作",
                                      "target": "对象", "detail": "详情", "ok": "结果"}),
                  "审计日志", key="audit_table")
