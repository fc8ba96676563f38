"""Column configs for st.dataframe: percentages shown as the cards write them."""

import pandas as pd
import streamlit as st

from insight.ui.columns import percent_shown


def test_percent_columns_are_shown_with_two_decimals_and_exports_keep_fractions():
    frame = pd.DataFrame({"场景": ["甲", "乙", "丙"], "占比": [0.2621, 0.207, 0.8], "满意率": [0.8, None, 1.0],
                          "已评分": [65, 43, 20]})
    config = {"占比": st.column_config.NumberColumn(format="percent", help="说明"),
              "已评分": st.column_config.NumberColumn(format="%d"),
              "缺少的列": st.column_config.NumberColumn(format="percent")}
    shown, shown_config = percent_shown(frame, config)
    assert shown["占比"].round(6).tolist() == [26.21, 20.7, 80.0]
    assert shown_config["占比"]["type_config"]["format"] == "%.2f%%" and shown_config["占比"]["help"] == "说明"
    # untouched: columns in another format, columns without a config, the caller's frame and config
    assert shown["满意率"].isna().tolist() == [False, True, False] and shown["满意率"].iloc[0] == 0.8
    assert shown_config["已评分"] is config["已评分"] and shown_config["缺少的列"] is config["缺少的列"]
    assert frame["占比"].tolist() == [0.2621, 0.207, 0.8]
    assert config["占比"]["type_config"]["format"] == "percent"
    assert percent_shown(frame, None) == (frame, None)
    changes, changes_config = percent_shown(pd.DataFrame({"次数环比": [0.1667, -0.25]}),
                                            {"次数环比": st.column_config.NumberColumn(format="percent")})
    assert changes_config["次数环比"]["type_config"]["format"] == "%+.2f%%"
