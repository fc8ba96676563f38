"""Column configs for st.dataframe: numbers shown as the cards write them."""

import pandas as pd
import streamlit as st

from insight.ui.columns import as_shown


def test_percentages_two_decimals_changes_signed_counts_separated_exports_untouched():
    frame = pd.DataFrame({"场景": ["甲", "乙", "丙"], "占比": [0.2621, 0.207, 0.8], "满意率": [0.8, None, 1.0],
                          "已评分": [65.0, 43.0, 20.0], "行数": [1189225, 3, 0], "有会话表": [True, False, True]})
    config = {"占比": st.column_config.NumberColumn(format="percent", help="说明"),
              "已评分": st.column_config.NumberColumn(format="%d", help="样本量"),
              "缺少的列": st.column_config.NumberColumn(format="percent")}
    shown, shown_config = as_shown(frame, config)
    assert shown["占比"].round(6).tolist() == [26.21, 20.7, 80.0]
    assert shown_config["占比"]["type_config"]["format"] == "%.2f%%" and shown_config["占比"]["help"] == "说明"
    # counts: thousands separators, configured or plain integer columns (not booleans)
    assert shown_config["已评分"]["type_config"]["format"] == "localized" and shown_config["已评分"]["help"] == "样本量"
    assert shown_config["行数"]["type_config"]["format"] == "localized" and "有会话表" not in shown_config
    # untouched: columns without a config that are not integers, configs of absent columns, the caller's objects
    assert shown["满意率"].isna().tolist() == [False, True, False] and shown["满意率"].iloc[0] == 0.8
    assert "满意率" not in shown_config and shown_config["缺少的列"] is config["缺少的列"]
    assert frame["占比"].tolist() == [0.2621, 0.207, 0.8]
    assert config["占比"]["type_config"]["format"] == "percent" and config["已评分"]["type_config"]["format"] == "%d"
    names = frame[["场景"]]
    same, no_config = as_shown(names, None)
    assert same is names and no_config is None
    changes, changes_config = as_shown(pd.DataFrame({"次数环比": [0.1667, -0.25]}),
                                       {"次数环比": st.column_config.NumberColumn(format="percent_change")})
    assert changes_config["次数环比"]["type_config"]["format"] == "%+.2f%%"
    assert changes["次数环比"].round(6).tolist() == [16.67, -25.0]
