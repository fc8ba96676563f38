"""Chinese chat material for the demo dataset: buyer wording per scenario code (several
phrasings each, with slots), robot and agent replies, chit-chat and evaluation tags.

Slots: {item} 商品, {size} 尺码, {color} 颜色, {n} 数字, {city} 城市, {order} 订单号, {days} 天数,
{money} 金额, {express} 快递.
"""

from __future__ import annotations

__all__ = ["BUYER", "AGENT", "ROBOT", "CHITCHAT", "TRANSFER", "GREETING", "QUEUE", "FOLLOWUP",
           "CLOSING", "TAGS", "SLOTS", "ITEMS", "SCENARIO_WEIGHTS"]

ITEMS = {
    "服饰": ["连衣裙", "卫衣", "牛仔裤", "羽绒服", "衬衫", "运动鞋", "针织开衫"],
    "美妆": ["精华液", "面霜", "口红", "粉底液", "防晒霜", "卸妆油"],
    "食品": ["坚果礼盒", "牛肉干", "螺蛳粉", "咖啡豆", "酸奶", "月饼礼盒"],
    "数码": ["蓝牙耳机", "充电宝", "机械键盘", "手机壳", "平板电脑", "智能手表"],
    "家居": ["四件套", "收纳箱", "扫地机器人", "乳胶枕", "电饭煲", "落地灯"],
}

SLOTS = {
    "size": ["S", "M", "L", "XL", "160/84A", "38码", "40码", "均码"],
    "color": ["黑色", "白色", "奶咖色", "雾霾蓝", "酒红", "米白"],
    "n": ["2", "3", "5", "两", "三", "10"],
    "city": ["杭州", "北京", "成都", "广州", "哈尔滨", "乌鲁木齐", "厦门", "西安"],
    "order": ["2024051{0}88391", "3712{0}90045218", "订单号1609{0}7734", "4{0}83920177163"],
    "days": ["两天", "三天", "一周", "五天", "好几天", "10天"],
    "money": ["20", "15.8", "49", "100", "6块", "三十"],
    "express": ["顺丰", "中通", "圆通", "京东快递", "韵达", "EMS"],
}

# Buyer wording per scenario: colloquial, short, with typos and mixed forms on purpose.
BUYER: dict[str, list[str]] = {
    "product.spec.size": ["身高165体重110斤穿什么码", "{item}偏大还是偏小啊", "我平时穿{size}，这款拍哪个码",
                          "尺码表在哪看", "腰围2尺2选几码合适", "这个{item}长度多少"],
    "product.spec.material": ["{item}是什么面料的", "纯棉的吗会不会起球", "材质成分是啥", "含不含羊毛",
                              "这个成分孕妇能用吗", "有没有甲醛 味道大不大"],
    "product.spec.attribute": ["{item}有{color}吗", "这款防水吗", "功率多大啊", "和上一代有啥区别",
                               "能连苹果手机不", "续航多久", "这个款式显不显胖"],
    "product.usage.howto": ["{item}怎么用啊", "说明书找不到了 怎么操作", "第一次用要先充电吗",
                            "这个怎么清洗", "设置不了 教我下", "一天用几次"],
    "product.usage.install": ["包安装吗", "需要师傅上门装吗", "安装要另外收费吗", "{city}有安装网点吗",
                              "自己能装吗 有视频吗"],
    "product.stock.availability": ["{color}{size}还有货吗", "这个还有吗", "显示无货是怎么回事",
                                   "现货还是预售", "库存还有多少"],
    "product.stock.restock": ["{size}什么时候补货", "啥时候到货啊 等好久了", "断货了还会再上吗",
                              "预售多久能发", "补货了能通知我一下吗"],
    "product.assurance.authentic": ["是正品吗", "保真吗 专柜能验吗", "有防伪码吗", "是不是官方旗舰店的货",
                                    "假一赔几啊"],
    "product.assurance.expiry": ["保质期多久", "生产日期是什么时候的", "是新鲜的吗 不会临期吧",
                                 "开封后能放多久", "过期了怎么办"],
    "price.promotion.coupon": ["有优惠券吗", "券怎么领不了", "满减券能叠加吗", "店铺券在哪里领",
                               "新人券怎么用", "领了券下单没抵扣"],
    "price.promotion.campaign": ["活动什么时候开始", "买{n}件有赠品吗", "赠品怎么没收到", "直播间价格是多少",
                                 "参加满300减50吗", "活动规则看不懂"],
    "price.promotion.bargain": ["能便宜点吗", "多买能优惠吗", "怎么比昨天贵了{money}", "最低多少钱",
                                "别家比你们便宜 能不能少点"],
    "price.protection.refund_difference": ["刚买就降价了 能补差价吗", "保价怎么申请", "降了{money}元退给我",
                                           "价保还在时间内吗", "买贵了能退差价不"],
    "order.payment.method": ["能用花呗吗", "可以分期付款吗", "支持信用卡吗", "能货到付款吗",
                             "怎么用微信付"],
    "order.payment.issue": ["付款失败了", "钱扣了订单还显示未付款", "支付一直转圈", "重复付款了怎么办",
                            "付不了款提示风控"],
    "order.change.modify": ["地址填错了能改吗", "帮我改下收货地址 改成{city}", "能换成{size}吗 刚拍的",
                            "电话号码写错了", "能合并一起发吗", "{order} 改个地址"],
    "order.change.cancel": ["不想要了能取消吗", "拍错了帮我取消订单", "怎么取消订单", "取消了钱什么时候退",
                            "拍重复了取消一个"],
    "order.status.query": ["我的订单怎么样了", "{order}这个订单什么状态", "订单显示交易关闭是怎么回事",
                           "下单了怎么查不到", "订单一直待审核"],
    "order.invoice.issue": ["能开发票吗", "发票怎么开", "要开公司抬头的专票", "电子发票在哪下载",
                            "开票税号怎么填"],
    "order.invoice.modify": ["发票抬头开错了", "发票能重开吗", "要把普票换成专票", "发票金额不对",
                             "税号写错了帮我改下"],
    "logistics.shipping.when": ["什么时候发货", "今天能发吗", "几天发货啊", "现在拍明天能发不",
                                "下午几点前拍当天发"],
    "logistics.shipping.urge": ["怎么还不发货", "拍了{days}了还没发", "催一下发货 急用", "能不能快点发",
                                "说好48小时发货的呢"],
    "logistics.delivery.eta": ["到{city}要几天", "大概什么时候能到", "明天能到吗", "发{city}几天到",
                               "今天能送到吗"],
    "logistics.delivery.tracking": ["物流怎么一直不动", "快递到哪了", "单号查不到信息", "显示已签收但我没收到",
                                    "{express}好几天没更新了", "物流信息卡住了"],
    "logistics.delivery.method": ["发什么快递", "能发{express}吗", "包邮吗", "偏远地区运费多少",
                                  "可以自提吗"],
    "logistics.receipt.exception": ["快递盒子破了", "收到东西摔坏了", "我拒收了怎么办", "快递放驿站不送上门",
                                    "外包装压扁了 里面也坏了"],
    "aftersale.return.policy": ["支持七天无理由吗", "能退换吗", "穿过一次能退吗", "拆封了还能退吗",
                                "退换货政策是什么"],
    "aftersale.return.process": ["退货流程怎么走", "我已经寄回了 什么时候处理", "换货进度怎么样了",
                                 "退货地址是哪里", "退回去{days}了还没处理"],
    "aftersale.return.shipping_fee": ["退货运费谁出", "有运费险吗", "寄回的运费能报销吗", "运费险怎么理赔",
                                      "退货要我自己出邮费吗"],
    "aftersale.refund.progress": ["退款什么时候到账", "钱退到哪了", "退款一直处理中", "说好退款的怎么还没到",
                                  "退款{days}了还没收到"],
    "aftersale.refund.apply": ["我要退款", "怎么申请仅退款", "申请退款按钮点不了", "帮我退一下款",
                               "不要了 直接退钱吧"],
    "aftersale.quality.defect": ["质量太差了 开线了", "用了{days}就坏了", "有瑕疵 有个洞", "充不进电",
                                 "起球严重", "有异味 熏得头疼"],
    "aftersale.quality.mismatch": ["和图片不一样", "颜色差太多了", "跟描述的不符", "尺码标的{size}实际很小",
                                   "货不对板"],
    "aftersale.quality.missing": ["少发了一件", "发错颜色了 我要的是{color}", "赠品没给", "配件少了",
                                  "只收到{n}个 买了更多"],
    "aftersale.repair.service": ["坏了能保修吗", "保修期多久", "寄修地址在哪", "维修要钱吗",
                                 "{item}不开机了 怎么修"],
    "service.contact.human": ["转人工", "人工客服", "我要找人工", "找你们老板", "机器人听不懂 换人"],
    "service.complaint.complaint": ["我要投诉", "你们服务太差了", "客服态度什么意思", "我要给差评 投诉你们",
                                    "找你们主管"],
    "service.complaint.dispute": ["不处理我就找平台了", "我已经申请平台介入了", "要去12315投诉",
                                  "小二介入了你们看着办", "纠纷怎么处理"],
    "service.review.review": ["好评返现还有吗", "晒图有奖励吗", "评价怎么写不了", "追评有红包吗",
                              "差评能删吗"],
    "service.account.account": ["会员积分怎么用", "怎么成为会员", "积分没到账", "会员价怎么算",
                                "账号登不上了"],
    "service.other.other": ["你们是哪里发货的 公司在哪", "招代理吗", "能合作吗", "你们有实体店吗",
                            "直播几点开始"],
}

# Replies by level-1 group (agents) — agents answer the group, not the exact sentence.
AGENT: dict[str, list[str]] = {
    "product": ["亲，这款{item}按平时尺码拍就可以哦", "亲，面料是棉混纺的，亲肤透气", "有的亲，{color}现货在售",
                "亲，详情页有参数表，我给您发一下", "亲，补货预计{days}内到，可以先收藏哦",
                "亲，我们是官方正品，支持专柜验货", "使用方法我发视频给您，照着操作就可以"],
    "price": ["亲，店铺首页可以领满减券", "这个价格已经是活动价了亲", "赠品下单自动添加的哦",
              "亲，保价期内可以申请差价，我帮您登记", "多件下单会自动优惠的哦"],
    "order": ["亲，已经帮您修改好了", "亲，订单还没发货，可以取消", "发票可以在订单详情申请开具哦",
              "亲，付款异常可以稍后重试一下", "我帮您看下订单状态，请稍等"],
    "logistics": ["亲，今天下午4点前的订单当天发出", "已经帮您催仓库了，今天发出", "快递一般{days}左右到",
                  "亲，物流信息更新有延迟，我帮您联系快递", "默认发{express}哦"],
    "aftersale": ["非常抱歉亲，给您申请退款了", "亲，支持七天无理由退换", "麻烦发一下照片，我马上给您处理",
                  "退货地址已经发给您了", "亲，退款原路返回，1-3个工作日到账",
                  "运费险会自动理赔的", "给您补发一件，实在抱歉"],
    "service": ["亲，您的问题我已经记录，马上处理", "非常抱歉给您带来不好的体验", "您好，我是人工客服，请问有什么可以帮您",
                "会员积分在个人中心可以查看哦", "亲，有问题我们一定负责到底"],
}

ROBOT: dict[str, list[str]] = {
    "product": ["您好，我是智能助手～商品参数请查看详情页，或点击【尺码推荐】", "亲，以下是常见问题：尺码/材质/库存"],
    "price": ["亲，优惠活动请查看店铺首页", "您好，当前活动：满300减30，券后更优惠"],
    "order": ["订单问题请点击【我的订单】自助处理", "您好，修改地址请在订单未发货前操作"],
    "logistics": ["亲，一般48小时内发货，点击查看物流", "您好，物流信息请在订单详情查看"],
    "aftersale": ["亲，申请售后请点击【退换/售后】", "您好，退款进度可在订单中查看"],
    "service": ["您好，我是智能客服，请描述您的问题", "亲，正在为您解答，如需人工请回复“人工”"],
}

CHITCHAT = ["在吗", "你好", "好的", "嗯嗯", "谢谢", "好吧", "？？", "在不在", "哦", "快点", "收到",
            "[图片]", "#E-s[微笑]", "行", "好的谢谢", "知道了", "还在吗", "人呢"]
TRANSFER = ["转人工", "人工", "人工客服", "找人工", "转人工客服谢谢", "我要人工"]
GREETING = ["您好，我是客服{agent}，很高兴为您服务～", "亲，在的，请问有什么可以帮您",
            "您好，客服{agent}为您服务，请稍等我看一下"]
QUEUE = ["正在为您转接人工客服，当前排队{n}人，请耐心等待", "人工客服繁忙，您前面还有{n}位"]
FOLLOWUP = ["亲，您拍下的{item}还没付款哦，需要帮您改价吗", "亲，看到您加购了{item}，今天下单有赠品哦",
            "亲，您咨询的{item}已经到货了"]
CLOSING = ["好的谢谢", "好的", "行吧", "知道了", "那我等等", "嗯", "OK"]

# Evaluation tags (1–3 ratings only), by cause.
TAGS = {
    "slow": ["回复慢", "排队时间长", "等待时间太久"],
    "unanswered": ["不回复消息", "找不到人工"],
    "unsolved": ["问题没有解决", "答非所问", "推诿责任"],
    "attitude": ["态度差", "不耐烦", "专业度不够"],
    "product": ["商品问题处理不满意", "物流太慢"],
}

# Scenario mix by stage: presale buyers ask about products and prices, after-sale buyers
# about logistics and returns. Weights are relative within each stage.
SCENARIO_WEIGHTS = {
    "presale": {
        "product.spec.size": 9, "product.spec.material": 4, "product.spec.attribute": 7,
        "product.usage.howto": 3, "product.usage.install": 1.5, "product.stock.availability": 5,
        "product.stock.restock": 2, "product.assurance.authentic": 2, "product.assurance.expiry": 1.5,
        "price.promotion.coupon": 6, "price.promotion.campaign": 4, "price.promotion.bargain": 4,
        "price.protection.refund_difference": 1, "order.payment.method": 2, "order.payment.issue": 1,
        "order.change.modify": 2, "order.change.cancel": 1.5, "order.status.query": 1,
        "order.invoice.issue": 1.5, "logistics.shipping.when": 6, "logistics.delivery.eta": 3,
        "logistics.delivery.method": 2.5, "service.contact.human": 2, "service.account.account": 1,
        "service.other.other": 1.5, "service.review.review": 0.5,
    },
    "aftersale": {
        "logistics.shipping.urge": 6, "logistics.delivery.tracking": 7, "logistics.receipt.exception": 2.5,
        "aftersale.return.policy": 3, "aftersale.return.process": 4, "aftersale.return.shipping_fee": 2,
        "aftersale.refund.progress": 5, "aftersale.refund.apply": 4, "aftersale.quality.defect": 4,
        "aftersale.quality.mismatch": 2.5, "aftersale.quality.missing": 2, "aftersale.repair.service": 1.5,
        "order.invoice.issue": 1.5, "order.invoice.modify": 1, "order.status.query": 2,
        "price.protection.refund_difference": 1.5, "product.usage.howto": 2, "service.complaint.complaint": 1.5,
        "service.complaint.dispute": 0.8, "service.review.review": 1.5, "service.contact.human": 1,
        "service.other.other": 0.5,
    },
}
